package tracking

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/relais-dev/relais/internal/testenv"
)

func ev(i int) Event {
	return Event{LedgerID: fmt.Sprintf("%032x", i), Type: EventOpened, At: time.Unix(int64(i), 0)}
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, "the event sink", 10*time.Second, cond)
}

func TestBatcherFlushesBySize(t *testing.T) {
	tests := []struct {
		name      string
		size, add int
		wantSizes []int
	}{
		{"exact batches", 3, 6, []int{3, 3}},
		{"remainder flushed on close", 3, 7, []int{3, 3, 1}},
		{"one event", 500, 1, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			b := NewBatcher(sink, tc.size, time.Hour) // the ticker never fires here
			for i := range tc.add {
				if !b.Add(ev(i)) {
					t.Fatalf("Add %d dropped", i)
				}
			}
			full := tc.add / tc.size
			waitFor(t, func() bool { return len(sink.sizes()) >= full })
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if got := sink.sizes(); !slices.Equal(got, tc.wantSizes) {
				t.Fatalf("batch sizes %v, want %v", got, tc.wantSizes)
			}
			evs := sink.events()
			for i, e := range evs {
				if e != ev(i) {
					t.Fatalf("event %d = %+v, out of order or changed", i, e)
				}
			}
			if b.Recorded() != uint64(tc.add) || b.Dropped() != 0 {
				t.Fatalf("recorded %d dropped %d", b.Recorded(), b.Dropped())
			}
		})
	}
}

func TestBatcherFlushesByTime(t *testing.T) {
	sink := &memSink{}
	b := NewBatcher(sink, 1000, 10*time.Millisecond)
	defer b.Close()
	b.Add(ev(1))
	b.Add(ev(2))
	// No Flush, no Close: only the interval can write these.
	waitFor(t, func() bool { return len(sink.events()) == 2 })
	if got := sink.sizes(); len(got) == 0 || got[0] > 2 {
		t.Fatalf("sizes %v", got)
	}
}

func TestBatcherConcurrentAdds(t *testing.T) {
	s := newSQLiteSink(t)
	b := NewBatcher(s, 50, 5*time.Millisecond)
	b.AddWait = time.Second // this test wants nothing dropped
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				b.Add(ev(g*1000 + i))
			}
		})
	}
	wg.Wait()
	b.Close()
	if n := s.count(t); n != 4000 || b.Recorded() != 4000 || b.Dropped() != 0 {
		t.Fatalf("persisted %d, recorded %d, dropped %d; want 4000", n, b.Recorded(), b.Dropped())
	}
	if b.Add(ev(1)) {
		t.Fatal("Add after Close accepted")
	}
	b.Flush() // no-op, must not block after Close
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// blockingSink holds Record until released, so the buffer fills.
type blockingSink struct {
	release chan struct{}
	memSink
}

func (s *blockingSink) Record(ctx context.Context, evs []Event) error {
	<-s.release
	return s.memSink.Record(ctx, evs)
}

func TestBatcherDropsWhenFull(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	b := NewBatcher(sink, 2, time.Hour)
	b.AddWait = time.Millisecond
	reg := prometheus.NewPedanticRegistry()
	for _, c := range b.Collectors() {
		reg.MustRegister(c)
	}
	// 2 in the stuck Record call + 32 buffered; the rest must drop.
	accepted := 0
	for i := range 100 {
		if b.Add(ev(i)) {
			accepted++
		}
	}
	if b.Dropped() == 0 || accepted+int(b.Dropped()) != 100 {
		t.Fatalf("accepted %d, dropped %d", accepted, b.Dropped())
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 3 {
		t.Fatalf("gathered %d metric families: %v", len(mfs), err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "relais_tracking_events_dropped_total" {
			if got := mf.GetMetric()[0].GetCounter().GetValue(); got != float64(b.Dropped()) {
				t.Fatalf("dropped metric %v, want %d", got, b.Dropped())
			}
		}
	}
	close(sink.release)
	b.Close()
	if got := len(sink.events()); got != accepted {
		t.Fatalf("persisted %d, accepted %d", got, accepted)
	}
}

func TestBatcherRetriesThenCountsFailures(t *testing.T) {
	tests := []struct {
		name         string
		fail         int
		wantRecorded uint64
		wantFailed   uint64
	}{
		{"transient failure retried", 2, 3, 0},
		{"persistent failure counted", 10, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{fail: tc.fail}
			b := NewBatcher(sink, 3, time.Hour)
			for i := range 3 {
				b.Add(ev(i))
			}
			b.Close()
			if b.Recorded() != tc.wantRecorded || b.Failed() != tc.wantFailed {
				t.Fatalf("recorded %d failed %d", b.Recorded(), b.Failed())
			}
		})
	}
}
