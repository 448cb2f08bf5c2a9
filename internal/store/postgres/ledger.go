package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
)

func scanRun(r pgx.Row) (store.Run, error) {
	var run store.Run
	if err := r.Scan(&run.ID, &run.CampaignID, &run.RunKey, &run.ContentHash, &run.State,
		&run.DryRun, &run.Planned, &run.CreatedAt, &run.UpdatedAt); err != nil {
		return store.Run{}, err
	}
	run.CreatedAt, run.UpdatedAt = run.CreatedAt.UTC(), run.UpdatedAt.UTC()
	return run, nil
}

// CreateRun implements store.Store. An empty State means "expanding".
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	if r.State == "" {
		r.State = store.RunExpanding
	}
	got, err := scanRun(s.pool.QueryRow(ctx, qCreateRun, r.CampaignID, r.RunKey, r.ContentHash,
		r.State, r.DryRun, r.Planned, s.now()))
	if err == nil {
		return got, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, false, fmt.Errorf("postgres: create run of %s: %w", r.CampaignID, err)
	}
	// The (campaign, run key) exists: this is a re-run of the same
	// occurrence, which must reuse its ledger rather than send again.
	got, err = s.FindRun(ctx, r.CampaignID, r.RunKey)
	return got, false, err
}

// FindRun implements store.Store.
func (s *Store) FindRun(ctx context.Context, campaignID, runKey string) (store.Run, error) {
	run, err := scanRun(s.pool.QueryRow(ctx, qFindRun, campaignID, runKey))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, notFound("run " + campaignID + "/" + runKey)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("postgres: find run %s/%s: %w", campaignID, runKey, err)
	}
	return run, nil
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id int64) (store.Run, error) {
	run, err := scanRun(s.pool.QueryRow(ctx, qGetRun, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, notFound(fmt.Sprintf("run %d", id))
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("postgres: get run %d: %w", id, err)
	}
	return run, nil
}

// ListRuns implements store.Store. A limit ≤ 0 means 100.
func (s *Store) ListRuns(ctx context.Context, campaignID string, limit int) ([]store.Run, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, qListRuns, campaignID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Run, error) { return scanRun(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	return out, nil
}

// SetRunState implements store.Store; a missing run is ErrNotFound.
func (s *Store) SetRunState(ctx context.Context, id int64, state string, planned int) error {
	tag, err := s.pool.Exec(ctx, qSetRunState, state, planned, s.now(), id)
	if err != nil {
		return fmt.Errorf("postgres: set run %d state: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(fmt.Sprintf("run %d", id))
	}
	return nil
}

// ledgerChunk bounds the arrays of one INSERT so memory stays flat for
// very large calls.
const ledgerChunk = 5000

// InsertLedger implements store.Store in one transaction of array
// inserts. A row's empty ID is derived with store.LedgerID, an empty State
// is planned and a zero CreatedAt is now.
func (s *Store) InsertLedger(ctx context.Context, rows []store.LedgerRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	now := s.now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: insert ledger: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	total := 0
	for start := 0; start < len(rows); start += ledgerChunk {
		chunk := rows[start:min(start+ledgerChunk, len(rows))]
		tag, err := tx.Exec(ctx, qInsertLedger, ledgerArrays(chunk, now)...)
		if err != nil {
			return 0, fmt.Errorf("postgres: insert ledger (run %d): %w", chunk[0].RunID, err)
		}
		total += int(tag.RowsAffected())
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: insert ledger: commit: %w", err)
	}
	return total, nil
}

// ledgerArrays turns rows into the 16 column arrays of qInsertLedger.
func ledgerArrays(rows []store.LedgerRow, now time.Time) []any {
	n := len(rows)
	var (
		ids, campaigns, steps, channels = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		purposes, states, reasons, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		runIDs, contactIDs              = make([]int64, n), make([]int64, n)
		attempts, segments              = make([]int32, n), make([]int32, n)
		providers                       = make([]*string, n)
		notBefore                       = make([]*time.Time, n)
		created, updated                = make([]time.Time, n), make([]time.Time, n)
	)
	for i, r := range rows {
		ids[i] = r.ID
		if r.ID == "" {
			ids[i] = store.LedgerID(r.RunID, r.StepID, r.ContactID, r.Channel)
		}
		states[i] = string(r.State)
		if r.State == "" {
			states[i] = string(store.Planned)
		}
		runIDs[i], campaigns[i], steps[i], contactIDs[i] = r.RunID, r.CampaignID, r.StepID, r.ContactID
		channels[i], purposes[i], reasons[i], errs[i] = r.Channel, r.Purpose, r.Reason, r.Error
		attempts[i], segments[i] = int32(r.Attempts), int32(r.Segments)
		if r.ProviderID != "" {
			p := r.ProviderID
			providers[i] = &p
		}
		if !r.NotBefore.IsZero() {
			nb := r.NotBefore.UTC()
			notBefore[i] = &nb
		}
		created[i], updated[i] = r.CreatedAt, r.UpdatedAt
		if created[i].IsZero() {
			created[i] = now
		}
		if updated[i].IsZero() {
			updated[i] = created[i]
		}
	}
	return []any{ids, runIDs, campaigns, steps, contactIDs, channels, purposes, states,
		reasons, providers, errs, attempts, segments, notBefore, created, updated}
}

func scanLedger(r pgx.Row) (store.LedgerRow, error) {
	var (
		l         store.LedgerRow
		state     string
		provider  *string
		notBefore *time.Time
	)
	if err := r.Scan(&l.ID, &l.RunID, &l.CampaignID, &l.StepID, &l.ContactID, &l.Channel,
		&l.Purpose, &state, &l.Reason, &provider, &l.Error, &l.Attempts, &l.Segments,
		&notBefore, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return store.LedgerRow{}, err
	}
	l.State, l.ProviderID = store.State(state), deref(provider)
	if notBefore != nil {
		l.NotBefore = notBefore.UTC()
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, nil
}

// GetLedger implements store.Store.
func (s *Store) GetLedger(ctx context.Context, id string) (store.LedgerRow, error) {
	l, err := scanLedger(s.pool.QueryRow(ctx, qGetLedger, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LedgerRow{}, notFound("ledger " + id)
	}
	if err != nil {
		return store.LedgerRow{}, fmt.Errorf("postgres: get ledger %s: %w", id, err)
	}
	return l, nil
}

// GetLedgerByProvider implements store.Store. An empty providerID is
// ErrNotFound.
func (s *Store) GetLedgerByProvider(ctx context.Context, providerID string) (store.LedgerRow, error) {
	l, err := scanLedger(s.pool.QueryRow(ctx, qGetLedgerByProvider, providerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LedgerRow{}, notFound("ledger by provider id")
	}
	if err != nil {
		return store.LedgerRow{}, fmt.Errorf("postgres: ledger by provider id: %w", err)
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
	var provider *string
	if c.ProviderID != "" {
		provider = &c.ProviderID
	}
	var notBefore *time.Time
	if !c.NotBefore.IsZero() {
		nb := c.NotBefore.UTC()
		notBefore = &nb
	}
	states := make([]string, len(from))
	for i, f := range from {
		states[i] = string(f)
	}
	tag, err := s.pool.Exec(ctx, qTransition, string(to), c.Reason, provider, c.Error, c.Segments,
		notBefore, attempt, s.now(), id, states)
	if err != nil {
		return false, fmt.Errorf("postgres: ledger %s → %s: %w", id, to, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListLedger implements store.Store. A Limit ≤ 0 means 1000.
func (s *Store) ListLedger(ctx context.Context, f store.LedgerFilter) ([]store.LedgerRow, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q, args := qListLedger, []any{f.AfterID}
	if f.RunID != 0 {
		args = append(args, f.RunID)
		q += " AND run_id = $" + strconv.Itoa(len(args))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		args = append(args, states)
		q += " AND state = ANY($" + strconv.Itoa(len(args)) + ")"
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, q+qListLedgerEnd+"$"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list ledger: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LedgerRow, error) { return scanLedger(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list ledger: %w", err)
	}
	return out, nil
}

// CountLedger implements store.Store.
func (s *Store) CountLedger(ctx context.Context, runID int64) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, qCountLedger, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: count ledger of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state, reason string
			n             int
		)
		if err := rows.Scan(&state, &reason, &n); err != nil {
			return nil, fmt.Errorf("postgres: count ledger of run %d: %w", runID, err)
		}
		out[state] += n
		if state == string(store.Refused) {
			out[state+":"+reason] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: count ledger of run %d: %w", runID, err)
	}
	return out, nil
}

// MarketingSentSince implements store.Store.
func (s *Store) MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, qMarketingSentSince, contactID, since.UTC()).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: marketing sends of contact %d: %w", contactID, err)
	}
	return n, nil
}
