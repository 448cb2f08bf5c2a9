package sqlstore

import (
	"context"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.ReportStore = (*Store)(nil)

// LedgerGroups implements store.ReportStore.
func (s *Store) LedgerGroups(ctx context.Context, campaignID string) ([]store.LedgerGroup, error) {
	rows, err := s.r.QueryContext(ctx, qLedgerGroups, campaignID)
	if err != nil {
		return nil, s.errf("ledger report of %s: %w", campaignID, err)
	}
	defer rows.Close()
	var out []store.LedgerGroup
	for rows.Next() {
		var (
			g     store.LedgerGroup
			state string
		)
		if err := rows.Scan(&g.RunID, &g.StepID, &g.Channel, &state, &g.Reason, &g.Rows, &g.Segments); err != nil {
			return nil, s.errf("ledger report of %s: %w", campaignID, err)
		}
		g.State = store.State(state)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("ledger report of %s: %w", campaignID, err)
	}
	return out, nil
}

// EventGroups implements store.ReportStore.
func (s *Store) EventGroups(ctx context.Context, campaignID string) ([]store.EventGroup, error) {
	rows, err := s.r.QueryContext(ctx, qEventGroups, campaignID)
	if err != nil {
		return nil, s.errf("event report of %s: %w", campaignID, err)
	}
	defer rows.Close()
	var out []store.EventGroup
	for rows.Next() {
		var g store.EventGroup
		if err := rows.Scan(&g.RunID, &g.StepID, &g.Channel, &g.Type, &g.Machine, &g.Currency,
			&g.Events, &g.Messages, &g.Value); err != nil {
			return nil, s.errf("event report of %s: %w", campaignID, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("event report of %s: %w", campaignID, err)
	}
	return out, nil
}

// Timeline implements store.ReportStore.
func (s *Store) Timeline(ctx context.Context, campaignID string, since time.Time) ([]store.HourCount, error) {
	rows, err := s.r.QueryContext(ctx, s.d.sql["timeline"], campaignID, s.d.t(since))
	if err != nil {
		return nil, s.errf("timeline of %s: %w", campaignID, err)
	}
	defer rows.Close()
	var out []store.HourCount
	for rows.Next() {
		var h store.HourCount
		if err := rows.Scan(ts(&h.Hour), &h.Series, &h.N); err != nil {
			return nil, s.errf("timeline of %s: %w", campaignID, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("timeline of %s: %w", campaignID, err)
	}
	return out, nil
}
