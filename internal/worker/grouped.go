package worker

import (
	"context"
	"sync"

	"github.com/relais-dev/relais/internal/store"
)

// grouped writes the same ledger transition (from → to) of concurrent
// sends together: the first send to arrive writes what is queued in one
// Settle statement, while the next ones queue behind it (group commit).
// Each send waits for its own row to be written before it goes on, so the
// ledger says exactly what it would with one statement per row: a row is
// marked submitting only when its message is about to be handed over, and
// a send frees its slot only once its acceptance is recorded.
type grouped struct {
	mu       sync.Mutex
	pending  []*groupedRow
	flushing bool
}

type groupedRow struct {
	out  store.Outcome
	done chan groupedResult
}

type groupedResult struct {
	moved bool
	err   error
}

// write moves out.ID from `from` to `to` with out's change, together with
// whatever other sends queue meanwhile; every caller of one grouped passes
// the same from and to. moved is false when the row was no longer in from
// (another task settled it), as with Transition.
func (g *grouped) write(ctx context.Context, bs store.BatchStore, from []store.State, to store.State, out store.Outcome) (moved bool, err error) {
	r := &groupedRow{out: out, done: make(chan groupedResult, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.flushing {
		g.mu.Unlock()
		res := <-r.done
		return res.moved, res.err
	}
	g.flushing = true
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		g.flush(ctx, bs, from, to, batch)
		g.mu.Lock()
	}
	g.flushing = false
	g.mu.Unlock()
	res := <-r.done
	return res.moved, res.err
}

// flush writes batch in one statement and answers each row. The
// statement runs without the first caller's cancellation: the others
// wait on it.
func (g *grouped) flush(ctx context.Context, bs store.BatchStore, from []store.State, to store.State, batch []*groupedRow) {
	outs := make([]store.Outcome, len(batch))
	for i, r := range batch {
		outs[i] = r.out
	}
	ids, err := bs.Settle(context.WithoutCancel(ctx), from, to, outs)
	moved := make(map[string]bool, len(ids))
	for _, id := range ids {
		moved[id] = true
	}
	for _, r := range batch {
		r.done <- groupedResult{moved: moved[r.out.ID], err: err}
	}
}

// accept moves a batched send from submitting to accepted with ch, with
// other sends' acceptances; on a store error the row's outcome goes
// through settle, which keeps it until the store takes it. A row not moved
// was settled by another task meanwhile, which Transition reports the same
// way.
func (w *Worker) accept(ctx context.Context, s *send, ch store.Change) error {
	if _, err := w.accepts.write(ctx, w.batchStore(), []store.State{store.Submitting}, store.Accepted, store.Outcome{ID: s.row.ID, Change: ch}); err != nil {
		return w.settle(ctx, s, outcomeOf(store.Accepted, ch))
	}
	return nil
}

// markSubmitting moves s's row from claimed to submitting: a batched send
// with other sends' marks, a single send on its own.
func (w *Worker) markSubmitting(ctx context.Context, s *send) (bool, error) {
	if s.batched {
		return w.submits.write(ctx, w.batchStore(), []store.State{store.Claimed}, store.Submitting, store.Outcome{ID: s.row.ID})
	}
	return w.Store.Transition(ctx, s.row.ID, []store.State{store.Claimed}, store.Submitting, store.Change{})
}
