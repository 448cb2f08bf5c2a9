package run

import (
	"context"
	"fmt"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
)

// prefetch returns the decider of one batch of an expansion: the policy
// with every lookup of the batch's sends on steps read at once (one query
// per kind, policy.Prefetcher), or the policy itself when it cannot.
func (p *Planner) prefetch(ctx context.Context, sp *campaign.Spec, steps []*campaign.Step, batch []*contact.Contact) (policy.Decider, error) {
	pf, ok := p.Policy.(policy.Prefetcher)
	if !ok {
		return p.Policy, nil
	}
	var chans []string
	seen := map[string]bool{}
	for _, st := range steps {
		for _, ch := range sp.ChannelsFor(st) {
			if !seen[ch] {
				seen[ch] = true
				chans = append(chans, ch)
			}
		}
	}
	d, err := pf.Prefetch(ctx, batch, chans, sp.Purpose, compose.CapOf(sp))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return d, nil
}

// enqueuer puts an expansion's batches on the queue in the background,
// one batch at a time, so that the next batch is read, stored and decided
// meanwhile; memory stays bounded (one batch waits at most).
type enqueuer struct {
	p        *Planner
	ctx      context.Context
	inflight chan enqueued
	total    int
}

// enqueued is the outcome of one batch's enqueue.
type enqueued struct {
	n   int
	err error
}

func (p *Planner) newEnqueuer(ctx context.Context) *enqueuer {
	return &enqueuer{p: p, ctx: ctx}
}

// add waits for the previous batch's enqueue (returning its error) and
// starts enqueuing rows, whose ledger rows must already be stored.
func (q *enqueuer) add(rows []store.LedgerRow) error {
	if _, err := q.wait(); err != nil {
		return err
	}
	done := make(chan enqueued, 1)
	q.inflight = done
	go func() {
		n, err := q.p.enqueue(q.ctx, rows)
		done <- enqueued{n, err}
	}()
	return nil
}

// wait waits for the batch in flight and returns how many tasks all
// batches enqueued so far.
func (q *enqueuer) wait() (int, error) {
	if q.inflight == nil {
		return q.total, nil
	}
	r := <-q.inflight
	q.inflight = nil
	q.total += r.n
	return q.total, r.err
}
