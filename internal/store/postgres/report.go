package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.ReportStore = (*Store)(nil)

// LedgerGroups implements store.ReportStore.
func (s *Store) LedgerGroups(ctx context.Context, campaignID string) ([]store.LedgerGroup, error) {
	rows, err := s.pool.Query(ctx, qLedgerGroups, campaignID)
	if err != nil {
		return nil, fmt.Errorf("postgres: ledger report of %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LedgerGroup, error) {
		var (
			g     store.LedgerGroup
			state string
		)
		err := r.Scan(&g.RunID, &g.StepID, &g.Channel, &state, &g.Reason, &g.Rows, &g.Segments)
		g.State = store.State(state)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: ledger report of %s: %w", campaignID, err)
	}
	return out, nil
}

// EventGroups implements store.ReportStore.
func (s *Store) EventGroups(ctx context.Context, campaignID string) ([]store.EventGroup, error) {
	rows, err := s.pool.Query(ctx, qEventGroups, campaignID)
	if err != nil {
		return nil, fmt.Errorf("postgres: event report of %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.EventGroup, error) {
		var g store.EventGroup
		err := r.Scan(&g.RunID, &g.StepID, &g.Channel, &g.Type, &g.Machine, &g.Currency,
			&g.Events, &g.Messages, &g.Value)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: event report of %s: %w", campaignID, err)
	}
	return out, nil
}

// Timeline implements store.ReportStore.
func (s *Store) Timeline(ctx context.Context, campaignID string, since time.Time) ([]store.HourCount, error) {
	rows, err := s.pool.Query(ctx, qTimeline, campaignID, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline of %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.HourCount, error) {
		var h store.HourCount
		err := r.Scan(&h.Hour, &h.Series, &h.N)
		h.Hour = time.Date(h.Hour.Year(), h.Hour.Month(), h.Hour.Day(), h.Hour.Hour(), 0, 0, 0, time.UTC)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline of %s: %w", campaignID, err)
	}
	return out, nil
}
