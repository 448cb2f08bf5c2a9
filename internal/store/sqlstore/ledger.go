package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

func scanRun(r rowScanner) (store.Run, error) {
	var run store.Run
	err := r.Scan(&run.ID, &run.CampaignID, &run.RunKey, &run.ContentHash, &run.State,
		&run.DryRun, &run.Planned, ts(&run.CreatedAt), ts(&run.UpdatedAt))
	return run, err
}

// CreateRun implements store.Store. An empty State means "expanding".
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	if r.State == "" {
		r.State = store.RunExpanding
	}
	now := s.d.t(s.now())
	got, err := scanRun(s.w.QueryRowContext(ctx, qCreateRun, r.CampaignID, r.RunKey, r.ContentHash,
		r.State, r.DryRun, r.Planned, now, now))
	if err == nil {
		return got, true, nil
	}
	if err != sql.ErrNoRows {
		return store.Run{}, false, s.errf("create run of %s: %w", r.CampaignID, err)
	}
	// The (campaign, run key) exists: this is a re-run of the same
	// occurrence, which must reuse its ledger rather than send again.
	got, err = s.FindRun(ctx, r.CampaignID, r.RunKey)
	return got, false, err
}

// FindRun implements store.Store.
func (s *Store) FindRun(ctx context.Context, campaignID, runKey string) (store.Run, error) {
	return queryOne(ctx, s, s.r, fmt.Sprintf("run %s/%s", campaignID, runKey), scanRun, qFindRun, campaignID, runKey)
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id int64) (store.Run, error) {
	return queryOne(ctx, s, s.r, fmt.Sprintf("run %d", id), scanRun, qGetRun, id)
}

// ListRuns implements store.Store. A limit ≤ 0 means 100.
func (s *Store) ListRuns(ctx context.Context, campaignID string, limit int) ([]store.Run, error) {
	if limit <= 0 {
		limit = 100
	}
	return queryAll(ctx, s, "list runs", scanRun, qListRuns, campaignID, limit)
}

// SetRunState implements store.Store; a missing run is ErrNotFound.
func (s *Store) SetRunState(ctx context.Context, id int64, state string, planned int) error {
	n, err := s.exec(ctx, fmt.Sprintf("set run %d state", id), qSetRunState, state, planned, s.d.t(s.now()), id)
	if err == nil && n == 0 {
		return s.notFound("run %d", id)
	}
	return err
}

// InsertLedger implements store.Store in one transaction of the dialect's
// bulk inserts. A row's empty ID is derived with store.LedgerID, an empty
// State is planned and a zero CreatedAt is now.
func (s *Store) InsertLedger(ctx context.Context, rows []store.LedgerRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errf("insert ledger: begin: %w", err)
	}
	defer tx.Rollback()
	n, err := s.d.insertLedger(ctx, tx, rows, s.now())
	if err != nil {
		return 0, s.errf("insert ledger (run %d): %w", rows[0].RunID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.errf("insert ledger: commit: %w", err)
	}
	return n, nil
}

// fillLedger sets the defaults InsertLedger documents.
func fillLedger(r store.LedgerRow, now time.Time) store.LedgerRow {
	if r.ID == "" {
		r.ID = store.LedgerID(r.RunID, r.StepID, r.ContactID, r.Channel)
	}
	if r.State == "" {
		r.State = store.Planned
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	return r
}

func scanLedger(r rowScanner) (store.LedgerRow, error) {
	var (
		l        store.LedgerRow
		provider sql.NullString
	)
	err := r.Scan(&l.ID, &l.RunID, &l.CampaignID, &l.StepID, &l.ContactID, &l.Channel,
		&l.Purpose, &l.State, &l.Reason, &provider, &l.Error, &l.Attempts, &l.Segments,
		ts(&l.NotBefore), ts(&l.CreatedAt), ts(&l.UpdatedAt))
	l.ProviderID = provider.String
	return l, err
}

// GetLedger implements store.Store.
func (s *Store) GetLedger(ctx context.Context, id string) (store.LedgerRow, error) {
	return queryOne(ctx, s, s.r, "ledger "+id, scanLedger, qGetLedger, id)
}

// GetLedgerByProvider implements store.Store. An empty providerID is
// ErrNotFound.
func (s *Store) GetLedgerByProvider(ctx context.Context, providerID string) (store.LedgerRow, error) {
	return queryOne(ctx, s, s.r, "ledger by provider id", scanLedger, qGetLedgerByProvider, providerID)
}

// Transition implements store.Store with one conditional UPDATE, grouped
// with concurrent ones into one transaction on SQLite; an empty from moves
// nothing.
func (s *Store) Transition(ctx context.Context, id string, from []store.State, to store.State, c store.Change) (bool, error) {
	if len(from) == 0 {
		return false, nil
	}
	attempt := 0
	if c.AddAttempt {
		attempt = 1
	}
	args := []any{string(to), c.Reason, nullStr(c.ProviderID), c.Error, c.Segments,
		s.d.nt(c.NotBefore), attempt, s.d.t(s.now()), id}
	cond, args := in(s.d, args, states(from))
	var n int64
	var err error
	if s.group != nil {
		n, err = s.group.exec(ctx, qTransition+cond, args...)
	} else {
		n, err = s.exec(ctx, "transition", qTransition+cond, args...)
	}
	if err != nil {
		return false, s.errf("ledger %s → %s: %w", id, to, err)
	}
	return n == 1, nil
}

// ListLedger implements store.Store. A Limit ≤ 0 means 1000.
func (s *Store) ListLedger(ctx context.Context, f store.LedgerFilter) ([]store.LedgerRow, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q, args := qListLedger, []any{f.AfterID}
	var p string
	if f.RunID != 0 {
		p, args = arg(s.d, args, f.RunID)
		q += " AND run_id = " + p
	}
	if len(f.States) > 0 {
		p, args = in(s.d, args, states(f.States))
		q += " AND state " + p
	}
	p, args = arg(s.d, args, limit)
	return queryAll(ctx, s, "list ledger", scanLedger, q+" ORDER BY id LIMIT "+p, args...)
}

// CountLedger implements store.Store.
func (s *Store) CountLedger(ctx context.Context, runID int64) (map[string]int, error) {
	type group struct {
		state, reason string
		n             int
	}
	groups, err := queryAll(ctx, s, fmt.Sprintf("count ledger of run %d", runID), func(r rowScanner) (group, error) {
		var g group
		return g, r.Scan(&g.state, &g.reason, &g.n)
	}, qCountLedger, runID)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, g := range groups {
		out[g.state] += g.n
		if g.state == string(store.Refused) {
			out[g.state+":"+g.reason] += g.n
		}
	}
	return out, nil
}

// MarketingSentSince implements store.Store.
func (s *Store) MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, qMarketingSentSince, contactID, s.d.t(since)).Scan(&n); err != nil {
		return 0, s.errf("marketing sends of contact %d: %w", contactID, err)
	}
	return n, nil
}
