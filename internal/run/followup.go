package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// PlanOne plans step st of run r for one contact, as Start does for a
// whole audience: the channel is the first of the step's preference order
// the policy allows (choose), the ledger row is inserted (refused with its
// reason, deferred, or planned) and a sendable row is enqueued. Follow-up
// steps use it when they fall due for a recipient.
//
// It is idempotent: when a row of this run, step and contact exists on any
// of the step's channels, that row is returned with created false and is
// only re-enqueued (the queue refuses a duplicate task), so a replayed
// follow-up never sends twice even if the recipient's consent (hence the
// channel) changed meanwhile. It fails when the planner has no queue;
// other errors come from the policy, the store or the queue and name no
// contact data.
func (p *Planner) PlanOne(ctx context.Context, r store.Run, sp *campaign.Spec, st *campaign.Step, c *contact.Contact) (row store.LedgerRow, created bool, err error) {
	for _, ch := range sp.ChannelsFor(st) {
		got, err := p.ledgerRowOf(ctx, r.ID, st.ID, c.ID, ch)
		if err == nil {
			// Enqueue again (the queue refuses a duplicate): an earlier
			// attempt may have died between the insert and the enqueue.
			_, err := p.enqueue(ctx, []store.LedgerRow{got})
			return got, false, err
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.LedgerRow{}, false, fmt.Errorf("ledger lookup: %w", err)
		}
	}
	if p.Queue == nil {
		return store.LedgerRow{}, false, errors.New("planner has no queue to enqueue follow-up sends")
	}
	ch, dec, err := p.choose(ctx, sp, st, c)
	if err != nil {
		return store.LedgerRow{}, false, err
	}
	row = p.ledgerRow(r, sp, st, c, ch, dec)
	n, err := p.Store.InsertLedger(ctx, []store.LedgerRow{row})
	if err != nil {
		return store.LedgerRow{}, false, fmt.Errorf("insert ledger: %w", err)
	}
	if n == 0 {
		// A concurrent planner won the race: report its row.
		got, err := p.Store.GetLedger(ctx, row.ID)
		return got, false, err
	}
	if _, err := p.enqueue(ctx, []store.LedgerRow{row}); err != nil {
		return row, true, err
	}
	return row, true, nil
}

// ledgerRowOf returns the ledger row of run, step, contact and channel, by
// its id; a row written before ids were ordered by run and contact has
// its earlier id (store.LegacyLedgerID), so a run expanded by an earlier
// version keeps its follow-ups and checks.
func (p *Planner) ledgerRowOf(ctx context.Context, runID int64, stepID string, contactID int64, ch string) (store.LedgerRow, error) {
	id := store.LedgerID(runID, stepID, contactID, ch)
	row, err := p.Store.GetLedger(ctx, id)
	if legacy := store.LegacyLedgerID(runID, stepID, contactID, ch); errors.Is(err, store.ErrNotFound) && legacy != id {
		row, err = p.Store.GetLedger(ctx, legacy)
	}
	return row, err
}
