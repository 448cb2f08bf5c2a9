package run

import (
	"context"
	"fmt"

	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// prepared is one expansion batch with what deciding it needs: its
// contacts stored, earlier sends of the campaign and the policy's lookups
// read.
type prepared struct {
	batch []*contact.Contact
	got   receipts
	d     policy.Decider
}

type preparedOrErr struct {
	prepared
	err error
}

// ledgerRow is the ledger row of one intended send: planned (at the
// step's `at` when it is in the future), refused or deferred as the
// policy decided.
func (p *Planner) ledgerRow(r store.Run, sp *campaign.Spec, st *campaign.Step, c *contact.Contact, ch string, dec policy.Decision) store.LedgerRow {
	row := store.LedgerRow{ID: store.LedgerID(r.ID, st.ID, c.ID, ch), RunID: r.ID, CampaignID: sp.ID,
		StepID: st.ID, ContactID: c.ID, Channel: ch, Purpose: sp.Purpose, State: store.Planned}
	if st.At != nil && st.At.After(p.now()) {
		row.NotBefore = *st.At
	}
	switch dec.Verdict {
	case policy.Deny:
		row.State, row.Reason = store.Refused, dec.Reason
	case policy.Defer:
		row.State, row.Reason, row.NotBefore = store.Deferred, dec.Reason, dec.NotBefore
	}
	return row
}

// enqueue puts the sendable rows on the queue; a task that exists already
// (resumed expansion) counts as done.
func (p *Planner) enqueue(ctx context.Context, rows []store.LedgerRow) (int, error) {
	// Each enqueue is one Redis round trip (a Lua script): several in
	// flight at once keep Redis busy while the planner waits.
	// A transactional send enqueued with a batch's worth of its run is
	// bulk (queue.Batching.Group): it may wait for the others.
	perRun := map[int64]int{}
	for i := range rows {
		perRun[rows[i].RunID]++
	}
	var n atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(EnqueueParallelism)
	for i := range rows {
		r := &rows[i]
		if r.State != store.Planned && r.State != store.Deferred && r.State != store.Claimed {
			continue
		}
		g.Go(func() error {
			t := queue.NewSendTask(r.ID, r.RunID, r.Purpose, r.NotBefore, p.TaskRetention)
			group := p.Batch.Group(r.ID, r.RunID, r.StepID, r.Channel, r.Purpose, perRun[r.RunID] >= p.Batch.Size)
			_, err := p.Queue.EnqueueContext(gctx, t, group...)
			if queue.IsDuplicate(err) {
				// A task that will never run again (archived after its
				// retries, completed and retained) is replaced.
				var revived bool
				if revived, err = p.revive(gctx, r, t); err == nil && revived {
					_, err = p.Queue.EnqueueContext(gctx, t, group...)
				} else if err == nil {
					err = asynq.ErrTaskIDConflict
				}
			}
			switch {
			case err == nil:
				n.Add(1)
			case queue.IsDuplicate(err):
			default:
				return fmt.Errorf("enqueue ledger %s: %w", r.ID, err)
			}
			return nil
		})
	}
	err := g.Wait()
	return int(n.Load()), err
}

// DecideParallelism is how many policy decisions a planner makes at once
// while expanding (each reads consent, suppression and the frequency cap).
const DecideParallelism = 8

// EnqueueParallelism is how many enqueues a planner keeps in flight.
const EnqueueParallelism = 16

// choose picks the step's channel for c: the first in preference order on
// which c has an address and the policy allows (or defers) the send. When
// none does, it returns the first channel with an address (or the first
// channel) with the refusal of that channel.
func (p *Planner) choose(ctx context.Context, sp *campaign.Spec, st *campaign.Step, c *contact.Contact) (string, policy.Decision, error) {
	return chooseWith(ctx, p.Policy, sp, st, c, sp.ChannelsFor(st))
}

// chooseFrom is choose among chans.
func (p *Planner) chooseFrom(ctx context.Context, sp *campaign.Spec, st *campaign.Step, c *contact.Contact, chans []string) (string, policy.Decision, error) {
	return chooseWith(ctx, p.Policy, sp, st, c, chans)
}

// chooseWith is choose among chans deciding through d (a batch's
// prefetched decider).
func chooseWith(ctx context.Context, d policy.Decider, sp *campaign.Spec, st *campaign.Step, c *contact.Contact, chans []string) (string, policy.Decision, error) {
	at := time.Time{}
	if st.At != nil {
		at = *st.At
	}
	return policy.Choose(ctx, chans, func(ctx context.Context, ch string) (policy.Decision, error) {
		dec, err := d.Decide(ctx, policy.Input{Contact: c, Channel: ch, Purpose: sp.Purpose, Stage: policy.Plan, At: at,
			FrequencyCap: compose.CapOf(sp)})
		if err != nil {
			return dec, fmt.Errorf("policy: %w", err)
		}
		return dec, nil
	})
}

// walk streams sp's audience in batches to fn.
func (p *Planner) walk(ctx context.Context, sp *campaign.Spec, res *Result, fn func([]*contact.Contact) error) error {
	src, err := Source(sp, p.Store, func(audience.RowError) { res.RowErrors++ })
	if err != nil {
		return err
	}
	sel, err := Selector(sp)
	if err != nil {
		return err
	}
	batch := make([]*contact.Contact, 0, BatchSize)
	// A file's rows come normalized from the audience reader; contacts of
	// the store are normalized here (Normalize is idempotent: doing it
	// twice cost a sixth of an expansion's CPU, most of it phone numbers).
	_, normalized := src.(*audience.FileSource)
	err = sel.Stream(ctx, src, func(c *contact.Contact) error {
		if !normalized {
			c.Normalize()
		}
		batch = append(batch, c)
		if len(batch) == BatchSize {
			err := fn(batch)
			batch = batch[:0]
			return err
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = fn(batch)
	}
	return err
}

// Selector is the audience selector of sp: its where filter and its top
// (Pareto) cut.
func Selector(sp *campaign.Spec) (*audience.Selector, error) {
	var by string
	var pct float64
	if sp.Audience.Top != nil {
		by, pct = sp.Audience.Top.By, sp.Audience.Top.Percent
	}
	return audience.NewSelector(sp.Audience.Where, by, pct)
}
