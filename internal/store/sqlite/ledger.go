package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

func scanRun(r rowScanner) (store.Run, error) {
	var (
		run              store.Run
		created, updated string
	)
	if err := r.Scan(&run.ID, &run.CampaignID, &run.RunKey, &run.ContentHash, &run.State,
		&run.DryRun, &run.Planned, &created, &updated); err != nil {
		return store.Run{}, err
	}
	var err error
	if run.CreatedAt, err = parseTime(created); err != nil {
		return store.Run{}, err
	}
	if run.UpdatedAt, err = parseTime(updated); err != nil {
		return store.Run{}, err
	}
	return run, nil
}

// CreateRun implements store.Store. An empty State means "expanding".
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	if r.State == "" {
		r.State = store.RunExpanding
	}
	now := fmtTime(s.now())
	got, err := scanRun(s.w.QueryRowContext(ctx, qCreateRun, r.CampaignID, r.RunKey, r.ContentHash,
		r.State, r.DryRun, r.Planned, now, now))
	if err == nil {
		return got, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, false, fmt.Errorf("sqlite: create run of %s: %w", r.CampaignID, err)
	}
	// The (campaign, run key) exists: this is a re-run of the same
	// occurrence, which must reuse its ledger rather than send again.
	got, err = s.FindRun(ctx, r.CampaignID, r.RunKey)
	return got, false, err
}

// FindRun implements store.Store.
func (s *Store) FindRun(ctx context.Context, campaignID, runKey string) (store.Run, error) {
	run, err := scanRun(s.r.QueryRowContext(ctx, qFindRun, campaignID, runKey))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, fmt.Errorf("sqlite: run %s/%s: %w", campaignID, runKey, store.ErrNotFound)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlite: find run %s/%s: %w", campaignID, runKey, err)
	}
	return run, nil
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id int64) (store.Run, error) {
	run, err := scanRun(s.r.QueryRowContext(ctx, qGetRun, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, fmt.Errorf("sqlite: run %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlite: get run %d: %w", id, err)
	}
	return run, nil
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
	res, err := s.w.ExecContext(ctx, qSetRunState, state, planned, fmtTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("sqlite: set run %d state: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: set run %d state: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: run %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ledgerChunk rows per INSERT keeps 16 × 1000 placeholders under SQLite's
// 32,766-variable limit.
const ledgerChunk = 1000

// InsertLedger implements store.Store in one transaction of multi-row
// inserts. A row's empty ID is derived with store.LedgerID, an empty State
// is planned and a zero CreatedAt is now.
func (s *Store) InsertLedger(ctx context.Context, rows []store.LedgerRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	now := s.now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: insert ledger: begin: %w", err)
	}
	defer tx.Rollback()
	var (
		total int
		full  *sql.Stmt // the statement for a full chunk, prepared once
		args  = make([]any, 0, ledgerParams*min(len(rows), ledgerChunk))
	)
	for start := 0; start < len(rows); start += ledgerChunk {
		chunk := rows[start:min(start+ledgerChunk, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = appendLedgerArgs(args, r, now)
		}
		var res sql.Result
		if len(chunk) == ledgerChunk {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertLedgerSQL(ledgerChunk)); err != nil {
					return 0, fmt.Errorf("sqlite: insert ledger: prepare: %w", err)
				}
				defer full.Close()
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, insertLedgerSQL(len(chunk)), args...)
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: insert ledger (run %d): %w", chunk[0].RunID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: insert ledger: %w", err)
		}
		total += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: insert ledger: commit: %w", err)
	}
	return total, nil
}

func insertLedgerSQL(n int) string {
	row := "(" + placeholders(ledgerParams) + ")"
	var b strings.Builder
	b.Grow(len(qInsertLedger) + n*(len(row)+2) + len(qInsertLedgerEnd))
	b.WriteString(qInsertLedger)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(qInsertLedgerEnd)
	return b.String()
}

func appendLedgerArgs(args []any, r store.LedgerRow, now time.Time) []any {
	if r.ID == "" {
		r.ID = store.LedgerID(r.RunID, r.StepID, r.ContactID, r.Channel)
	}
	if r.State == "" {
		r.State = store.Planned
	}
	created, updated := r.CreatedAt, r.UpdatedAt
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = created
	}
	return append(args, r.ID, r.RunID, r.CampaignID, r.StepID, r.ContactID, r.Channel,
		r.Purpose, string(r.State), r.Reason, nullStr(r.ProviderID), r.Error, r.Attempts,
		r.Segments, fmtNullTime(r.NotBefore), fmtTime(created), fmtTime(updated))
}

func scanLedger(r rowScanner) (store.LedgerRow, error) {
	var (
		l                store.LedgerRow
		state            string
		provider, nb     sql.NullString
		created, updated string
	)
	if err := r.Scan(&l.ID, &l.RunID, &l.CampaignID, &l.StepID, &l.ContactID, &l.Channel,
		&l.Purpose, &state, &l.Reason, &provider, &l.Error, &l.Attempts, &l.Segments,
		&nb, &created, &updated); err != nil {
		return store.LedgerRow{}, err
	}
	l.State, l.ProviderID = store.State(state), provider.String
	var err error
	if l.NotBefore, err = parseNullTime(nb); err != nil {
		return store.LedgerRow{}, err
	}
	if l.CreatedAt, err = parseTime(created); err != nil {
		return store.LedgerRow{}, err
	}
	if l.UpdatedAt, err = parseTime(updated); err != nil {
		return store.LedgerRow{}, err
	}
	return l, nil
}

// GetLedger implements store.Store.
func (s *Store) GetLedger(ctx context.Context, id string) (store.LedgerRow, error) {
	l, err := scanLedger(s.r.QueryRowContext(ctx, qGetLedger, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.LedgerRow{}, fmt.Errorf("sqlite: ledger %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.LedgerRow{}, fmt.Errorf("sqlite: get ledger %s: %w", id, err)
	}
	return l, nil
}

// GetLedgerByProvider implements store.Store. An empty providerID is
// ErrNotFound.
func (s *Store) GetLedgerByProvider(ctx context.Context, providerID string) (store.LedgerRow, error) {
	l, err := scanLedger(s.r.QueryRowContext(ctx, qGetLedgerByProvider, providerID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.LedgerRow{}, fmt.Errorf("sqlite: ledger by provider id: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.LedgerRow{}, fmt.Errorf("sqlite: ledger by provider id: %w", err)
	}
	return l, nil
}

// Transition implements store.Store with one conditional UPDATE; an empty
// from moves nothing.
func (s *Store) Transition(ctx context.Context, id string, from []store.State, to store.State, c store.Change) (bool, error) {
	if len(from) == 0 {
		return false, nil
	}
	attempt := 0
	if c.AddAttempt {
		attempt = 1
	}
	args := make([]any, 0, 9+len(from))
	args = append(args, string(to), c.Reason, nullStr(c.ProviderID), c.Error, c.Segments,
		fmtNullTime(c.NotBefore), attempt, fmtTime(s.now()), id)
	for _, f := range from {
		args = append(args, string(f))
	}
	n, err := s.group.exec(ctx, qTransition+"("+placeholders(len(from))+")", args...)
	if err != nil {
		return false, fmt.Errorf("sqlite: ledger %s → %s: %w", id, to, err)
	}
	return n == 1, nil
}

// ListLedger implements store.Store. A Limit ≤ 0 means 1000.
func (s *Store) ListLedger(ctx context.Context, f store.LedgerFilter) ([]store.LedgerRow, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := qListLedger
	args := []any{f.RunID, f.RunID, f.AfterID}
	if len(f.States) > 0 {
		q += " AND state IN (" + placeholders(len(f.States)) + ")"
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	args = append(args, limit)
	return queryAll(ctx, s, "list ledger", scanLedger, q+qListLedgerEnd, args...)
}

// CountLedger implements store.Store.
func (s *Store) CountLedger(ctx context.Context, runID int64) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, qCountLedger, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count ledger of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state, reason string
			n             int
		)
		if err := rows.Scan(&state, &reason, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count ledger of run %d: %w", runID, err)
		}
		out[state] += n
		if state == string(store.Refused) {
			out[state+":"+reason] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count ledger of run %d: %w", runID, err)
	}
	return out, nil
}

// MarketingSentSince implements store.Store.
func (s *Store) MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, qMarketingSentSince, contactID, fmtTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: marketing sends of contact %d: %w", contactID, err)
	}
	return n, nil
}
