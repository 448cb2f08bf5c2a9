package sqlstore

import (
	"context"
	"strings"

	"github.com/relais-dev/relais/internal/store"
)

// eventChunk bounds the events of one bulk insert (the tracking batcher
// sends 500 at a time).
const eventChunk = 1000

// RecordEvents implements store.EventStore with the dialect's bulk
// insert joined with the ledger, atomically (all new events or none). A
// batch of up to 1,000 events is one statement; on SQLite it runs without
// an explicit transaction (being alone in its transaction it needs no
// statement journal, which saved a fifth of the time). An event whose
// ledger row does not exist is still recorded with the fields it carries
// (zero for the others); a zero At is now. A non-empty DedupeKey already
// stored, or repeated within evs, is skipped.
func (s *Store) RecordEvents(ctx context.Context, evs []store.Event) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	now := s.now()
	if len(evs) <= eventChunk {
		n, err := s.d.insertEvents(ctx, s.w, evs, now)
		if err != nil {
			return 0, s.errf("record %d events: %w", len(evs), err)
		}
		return n, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errf("record events: begin: %w", err)
	}
	defer tx.Rollback()
	total := 0
	for start := 0; start < len(evs); start += eventChunk {
		n, err := s.d.insertEvents(ctx, tx, evs[start:min(start+eventChunk, len(evs))], now)
		if err != nil {
			return 0, s.errf("record events: %w", err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, s.errf("record events: commit: %w", err)
	}
	return total, nil
}

// ListEvents implements store.EventStore. A Limit ≤ 0 means 1000.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var q strings.Builder
	q.WriteString(qListEvents)
	args := []any{f.AfterID}
	var p string
	for _, c := range []struct {
		col string
		v   any
		set bool
	}{
		{"ledger_id", f.LedgerID, f.LedgerID != ""},
		{"run_id", f.RunID, f.RunID != 0},
		{"campaign_id", f.CampaignID, f.CampaignID != ""},
		{"contact_id", f.ContactID, f.ContactID != 0},
	} {
		if c.set {
			p, args = arg(s.d, args, c.v)
			q.WriteString(" AND " + c.col + " = " + p)
		}
	}
	if len(f.Types) > 0 {
		p, args = in(s.d, args, f.Types)
		q.WriteString(" AND type " + p)
	}
	p, args = arg(s.d, args, limit)
	q.WriteString(" ORDER BY id LIMIT " + p)
	return queryAll(ctx, s, "list events", scanEvent, q.String(), args...)
}

func scanEvent(r rowScanner) (store.Event, error) {
	var e store.Event
	err := r.Scan(&e.ID, &e.LedgerID, &e.RunID, &e.CampaignID, &e.StepID, &e.ContactID, &e.Channel,
		&e.Type, &e.Machine, &e.URL, &e.Value, &e.Currency, &e.Detail, &e.DedupeKey, ts(&e.At))
	return e, err
}
