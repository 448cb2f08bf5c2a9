package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.EventStore = (*Store)(nil)

// eventChunk bounds the arrays of one INSERT so memory stays flat for
// very large calls.
const eventChunk = 5000

// RecordEvents implements store.EventStore in one transaction of array
// inserts joined with the ledger. An event whose ledger row does not exist
// is still recorded with the fields it carries (zero for the others); a
// zero At is now. A non-empty DedupeKey already stored, or repeated within
// evs, is skipped.
func (s *Store) RecordEvents(ctx context.Context, evs []store.Event) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	now := s.now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: record events: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	total := 0
	for start := 0; start < len(evs); start += eventChunk {
		chunk := evs[start:min(start+eventChunk, len(evs))]
		tag, err := tx.Exec(ctx, qInsertEvents, eventArrays(chunk, now)...)
		if err != nil {
			return 0, fmt.Errorf("postgres: record %d events: %w", len(chunk), err)
		}
		total += int(tag.RowsAffected())
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: record events: commit: %w", err)
	}
	return total, nil
}

// eventArrays turns evs into the 14 column arrays of qInsertEvents.
func eventArrays(evs []store.Event, now time.Time) []any {
	n := len(evs)
	var (
		ledgers, campaigns, steps, channels = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		types, urls, currencies, details    = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		runIDs, contactIDs                  = make([]int64, n), make([]int64, n)
		machines                            = make([]bool, n)
		values                              = make([]float64, n)
		dedupe                              = make([]*string, n)
		ats                                 = make([]time.Time, n)
	)
	for i, e := range evs {
		ledgers[i], runIDs[i], campaigns[i], steps[i] = e.LedgerID, e.RunID, e.CampaignID, e.StepID
		contactIDs[i], channels[i], types[i], machines[i] = e.ContactID, e.Channel, e.Type, e.Machine
		urls[i], values[i], currencies[i], details[i] = e.URL, e.Value, e.Currency, e.Detail
		if e.DedupeKey != "" {
			k := e.DedupeKey
			dedupe[i] = &k
		}
		ats[i] = e.At
		if ats[i].IsZero() {
			ats[i] = now
		}
	}
	return []any{ledgers, runIDs, campaigns, steps, contactIDs, channels, types, machines,
		urls, values, currencies, details, dedupe, ats}
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
	add := func(pred string, v any) {
		args = append(args, v)
		q.WriteString(" AND " + pred + " $" + strconv.Itoa(len(args)))
	}
	if f.LedgerID != "" {
		add("ledger_id =", f.LedgerID)
	}
	if f.RunID != 0 {
		add("run_id =", f.RunID)
	}
	if f.CampaignID != "" {
		add("campaign_id =", f.CampaignID)
	}
	if f.ContactID != 0 {
		add("contact_id =", f.ContactID)
	}
	if len(f.Types) > 0 {
		args = append(args, f.Types)
		q.WriteString(" AND type = ANY($" + strconv.Itoa(len(args)) + "::text[])")
	}
	args = append(args, limit)
	q.WriteString(" ORDER BY id LIMIT $" + strconv.Itoa(len(args)))
	rows, err := s.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Event, error) {
		var e store.Event
		err := r.Scan(&e.ID, &e.LedgerID, &e.RunID, &e.CampaignID, &e.StepID, &e.ContactID, &e.Channel,
			&e.Type, &e.Machine, &e.URL, &e.Value, &e.Currency, &e.Detail, &e.DedupeKey, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list events: %w", err)
	}
	return out, nil
}
