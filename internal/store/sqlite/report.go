package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.ReportStore = (*Store)(nil)

// LedgerGroups implements store.ReportStore.
func (s *Store) LedgerGroups(ctx context.Context, campaignID string) ([]store.LedgerGroup, error) {
	rows, err := s.r.QueryContext(ctx, qLedgerGroups, campaignID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: ledger report of %s: %w", campaignID, err)
	}
	defer rows.Close()
	var out []store.LedgerGroup
	for rows.Next() {
		var (
			g     store.LedgerGroup
			state string
		)
		if err := rows.Scan(&g.RunID, &g.StepID, &g.Channel, &state, &g.Reason, &g.Rows, &g.Segments); err != nil {
			return nil, fmt.Errorf("sqlite: ledger report of %s: %w", campaignID, err)
		}
		g.State = store.State(state)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: ledger report of %s: %w", campaignID, err)
	}
	return out, nil
}

// EventGroups implements store.ReportStore.
func (s *Store) EventGroups(ctx context.Context, campaignID string) ([]store.EventGroup, error) {
	rows, err := s.r.QueryContext(ctx, qEventGroups, campaignID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: event report of %s: %w", campaignID, err)
	}
	defer rows.Close()
	var out []store.EventGroup
	for rows.Next() {
		var g store.EventGroup
		if err := rows.Scan(&g.RunID, &g.StepID, &g.Channel, &g.Type, &g.Machine, &g.Currency,
			&g.Events, &g.Messages, &g.Value); err != nil {
			return nil, fmt.Errorf("sqlite: event report of %s: %w", campaignID, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: event report of %s: %w", campaignID, err)
	}
	return out, nil
}

// Timeline implements store.ReportStore.
func (s *Store) Timeline(ctx context.Context, campaignID string, since time.Time) ([]store.HourCount, error) {
	rows, err := s.r.QueryContext(ctx, qTimeline, campaignID, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %s: %w", campaignID, err)
	}
	defer rows.Close()
	var out []store.HourCount
	for rows.Next() {
		var (
			h store.HourCount
			t string
		)
		if err := rows.Scan(&t, &h.Series, &h.N); err != nil {
			return nil, fmt.Errorf("sqlite: timeline of %s: %w", campaignID, err)
		}
		if h.Hour, err = time.Parse("2006-01-02T15", t); err != nil {
			return nil, fmt.Errorf("sqlite: timeline of %s: bad stored hour: %w", campaignID, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %s: %w", campaignID, err)
	}
	return out, nil
}
