package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// groupDelay is the longest the first of several concurrent ledger writes
// waits for the others before writing (a commit delay, as databases
// group commits): with many sends in flight, rows arrive a fraction of a
// millisecond apart, and without the wait nearly every row paid for its
// own commit.
const groupDelay = time.Millisecond

// grouped writes the ledger transitions of concurrent batched sends
// together (group commit): the first send to arrive waits up to
// groupDelay for the others in flight, then writes everything queued, of
// every transition, in one transaction, while the next ones queue behind
// it. Each send waits for its own row to be written before it goes on,
// so the ledger says exactly what it would with one statement per row: a
// row is marked submitting only when its message is about to be handed
// over, and a send frees its slot only once its acceptance is recorded.
type grouped struct {
	mu       sync.Mutex
	pending  []*groupedRow
	flushing bool
	// wake, while the first writer waits, is closed once enough rows are
	// queued.
	wake chan struct{}
	want int
}

type groupedRow struct {
	from []store.State
	to   store.State
	out  store.Outcome
	done chan groupedResult
}

type groupedResult struct {
	moved bool
	err   error
}

// write moves out.ID from `from` to `to` with out's change, together with
// whatever other sends queue meanwhile. inFlight is how many sends the
// process has in flight (the rows that may still join this write). moved
// is false when the row was no longer in from (another task settled it),
// as with Transition.
func (g *grouped) write(ctx context.Context, bs store.BatchStore, inFlight int, from []store.State, to store.State, out store.Outcome) (moved bool, err error) {
	r := &groupedRow{from: from, to: to, out: out, done: make(chan groupedResult, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.flushing {
		if g.wake != nil && len(g.pending) >= g.want {
			close(g.wake)
			g.wake = nil
		}
		g.mu.Unlock()
		res := <-r.done
		return res.moved, res.err
	}
	g.flushing = true
	for len(g.pending) > 0 {
		// Wait for about half of the other sends in flight, at most
		// groupDelay: a lone send does not wait at all.
		if want := inFlight / 2; len(g.pending) < want {
			g.want = want
			wake := make(chan struct{})
			g.wake = wake
			g.mu.Unlock()
			t := time.NewTimer(groupDelay)
			select {
			case <-wake:
			case <-t.C:
			}
			t.Stop()
			g.mu.Lock()
			g.wake = nil
		}
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		g.flush(ctx, bs, batch)
		g.mu.Lock()
	}
	g.flushing = false
	g.mu.Unlock()
	res := <-r.done
	return res.moved, res.err
}

// flush writes batch in one transaction, one statement per transition,
// and answers each row. The statements run without the first caller's
// cancellation: the others wait on them.
func (g *grouped) flush(ctx context.Context, bs store.BatchStore, batch []*groupedRow) {
	var sets []store.Settlement
	index := make([]int, len(batch)) // batch row → its settlement
	for i, r := range batch {
		k := slices.IndexFunc(sets, func(s store.Settlement) bool {
			return s.To == r.to && slices.Equal(s.From, r.from)
		})
		if k < 0 {
			k = len(sets)
			sets = append(sets, store.Settlement{From: r.from, To: r.to})
		}
		sets[k].Outs = append(sets[k].Outs, r.out)
		index[i] = k
	}
	ids, err := bs.SettleAll(context.WithoutCancel(ctx), sets)
	moved := make([]map[string]bool, len(sets))
	for k := range sets {
		moved[k] = make(map[string]bool, len(sets[k].Outs))
		if k < len(ids) {
			for _, id := range ids[k] {
				moved[k][id] = true
			}
		}
	}
	for i, r := range batch {
		r.done <- groupedResult{moved: moved[index[i]][r.out.ID], err: err}
	}
}

// accept moves a batched send from submitting to accepted with ch, with
// other sends' writes; on a store error the row's outcome goes through
// settle, which keeps it until the store takes it. A row not moved was
// settled by another task meanwhile, which Transition reports the same
// way.
func (w *Worker) accept(ctx context.Context, s *send, ch store.Change) error {
	if _, err := w.ledgerWrites.write(ctx, w.batchStore(), w.inFlight(), []store.State{store.Submitting}, store.Accepted, store.Outcome{ID: s.row.ID, Change: ch}); err != nil {
		return w.settle(ctx, s, outcomeOf(store.Accepted, ch))
	}
	return nil
}

// markSubmitting moves s's row from claimed to submitting: a batched send
// with other sends' writes, a single send on its own.
func (w *Worker) markSubmitting(ctx context.Context, s *send) (bool, error) {
	if s.batched {
		return w.ledgerWrites.write(ctx, w.batchStore(), w.inFlight(), []store.State{store.Claimed}, store.Submitting, store.Outcome{ID: s.row.ID})
	}
	return w.Store.Transition(ctx, s.row.ID, []store.State{store.Claimed}, store.Submitting, store.Change{})
}
