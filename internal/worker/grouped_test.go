package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/relais-dev/relais/internal/store"
)

// settleRecorder is a store.BatchStore whose SettleAll records what it is
// given and moves every row except those listed in stay; the other
// methods are not used by grouped.
type settleRecorder struct {
	store.BatchStore
	mu    sync.Mutex
	calls [][]store.Settlement
	stay  map[string]bool
	err   error
}

func (r *settleRecorder) SettleAll(_ context.Context, sets []store.Settlement) ([][]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, sets)
	if r.err != nil {
		return nil, r.err
	}
	out := make([][]string, len(sets))
	for i, s := range sets {
		for _, o := range s.Outs {
			if !r.stay[o.ID] {
				out[i] = append(out[i], o.ID)
			}
		}
	}
	return out, nil
}

// TestGroupedWritesEachRowOnceWithItsTransition sends concurrent writes
// of two transitions through one grouped writer: every row is written
// exactly once, in a settlement of its own transition, and each caller
// learns whether its own row moved.
func TestGroupedWritesEachRowOnceWithItsTransition(t *testing.T) {
	const n = 40
	rec := &settleRecorder{stay: map[string]bool{"r7": true, "r20": true}}
	var g grouped
	var wg sync.WaitGroup
	moved := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := []store.State{store.Claimed}, store.Submitting
			if i%2 == 1 {
				from, to = []store.State{store.Submitting}, store.Accepted
			}
			moved[i], errs[i] = g.write(context.Background(), rec, n, from, to, store.Outcome{ID: fmt.Sprintf("r%d", i)})
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, call := range rec.calls {
		for _, s := range call {
			for _, o := range s.Outs {
				seen[o.ID]++
				var i int
				fmt.Sscanf(o.ID, "r%d", &i)
				want := store.Submitting
				if i%2 == 1 {
					want = store.Accepted
				}
				if s.To != want {
					t.Errorf("row %s written to %s, want %s", o.ID, s.To, want)
				}
			}
		}
		// One settlement per transition in a call.
		var tos []store.State
		for _, s := range call {
			tos = append(tos, s.To)
		}
		slices.Sort(tos)
		if len(slices.Compact(slices.Clone(tos))) != len(tos) {
			t.Errorf("a call has two settlements of one transition: %v", tos)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d rows written, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("row %s written %d times", id, k)
		}
	}
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		if errs[i] != nil || moved[i] == rec.stay[id] {
			t.Errorf("row %s: moved %v, err %v", id, moved[i], errs[i])
		}
	}
}

// TestGroupedStoreErrorReachesEveryCaller checks that a failed write is
// reported to each row it carried, none reported as moved.
func TestGroupedStoreErrorReachesEveryCaller(t *testing.T) {
	boom := errors.New("database is down")
	rec := &settleRecorder{err: boom}
	var g grouped
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			moved, err := g.write(context.Background(), rec, 10, []store.State{store.Submitting}, store.Accepted, store.Outcome{ID: fmt.Sprint(i)})
			if moved || !errors.Is(err, boom) {
				t.Errorf("row %d: moved %v, err %v", i, moved, err)
			}
		}()
	}
	wg.Wait()
}
