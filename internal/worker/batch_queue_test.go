package worker_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/render"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
)

// queued gives the fixture's worker a real Redis queue and returns its
// connection option.
func queued(t testing.TB, f *fixture) asynq.RedisConnOpt {
	t.Helper()
	_, url := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(url)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	f.w.Queue = client
	return opt
}

// Sends enqueued into their groups reach the worker as batch tasks
// through asynq's aggregator on a real Redis: every row is accepted once,
// no send runs alone and no batch exceeds the configured size.
func TestBatchThroughQueue(t *testing.T) {
	f := setup(t, "hello")
	opt := queued(t, f)
	const n, size = 250, 100
	ids, _ := f.people(t, n)
	b := queue.Batching{Size: size, Shards: 2, MaxDelay: time.Second, GracePeriod: time.Second}
	for _, id := range ids {
		if _, err := f.w.Queue.EnqueueContext(context.Background(), queue.NewSendTask(id, f.run.ID, "marketing", time.Time{}, 0),
			b.Group(id, f.run.ID, "s1", "email", "marketing", true)...); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var singles, batched atomic.Int64
	biggest := 0
	mux := asynq.NewServeMux()
	mux.Use(func(h asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			switch t.Type() {
			case queue.TypeSend:
				singles.Add(1)
			case queue.TypeSendBatch:
				p, err := queue.ParseBatch(t)
				if err == nil {
					batched.Add(int64(len(p.LedgerIDs)))
					mu.Lock()
					biggest = max(biggest, len(p.LedgerIDs))
					mu.Unlock()
				}
			}
			return h.ProcessTask(ctx, t)
		})
	})
	f.w.Register(mux)
	cfg := asynq.Config{Concurrency: 4, Queues: queue.Weights(), LogLevel: asynq.ErrorLevel}
	b.Server(&cfg)
	srv := asynq.NewServer(opt, cfg)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	testenv.Eventually(t, 60*time.Second, func() bool {
		c, err := f.st.CountLedger(context.Background(), f.run.ID)
		return err == nil && c[string(store.Accepted)] == n
	})
	if got := f.smtp.Count(); got != n {
		t.Errorf("relay received %d messages, want %d", got, n)
	}
	if s, bt := singles.Load(), batched.Load(); s != 0 || bt != n {
		t.Errorf("%d sends alone and %d in batches, want 0 and %d", s, bt, n)
	}
	if biggest > size {
		t.Errorf("a batch of %d sends, more than %d", biggest, size)
	}
}

// BenchmarkHandleBatch measures the batched send path of full batches
// (claim, batched policy reads, render, SMTP, acceptance) on SQLite, the
// test SMTP server and a real Redis for follow-ups, two batches at a time
// as asynq's workers run them.
func BenchmarkHandleBatch(b *testing.B) {
	// A shared, loaded machine (CI) must not fail a message on the render
	// budget: the benchmark measures throughput, not that budget.
	old := render.Budget()
	render.SetBudget(10 * time.Second)
	defer render.SetBudget(old)
	f := setup(b, "hello")
	queued(b, f)
	const size = queue.DefaultBatchSize
	ids, _ := f.people(b, b.N*size)
	var next atomic.Int64
	b.ResetTimer()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			if err := f.batch(ids[i*size : (i+1)*size]); err != nil {
				b.Error(err)
			}
		}
	})
	b.StopTimer()
	if got := f.smtp.Count(); got != len(ids) {
		b.Fatalf("relay received %d messages, want %d", got, len(ids))
	}
	b.ReportMetric(float64(len(ids))/b.Elapsed().Seconds(), "msgs/s")
}

// A batch whose context ends while its sends wait for a slot sends none
// of them: each of its rows stays claimed and gets a follow-up send task
// of its own, queued once the batch no longer blocks the other batches.
func TestBatchCanceledWaitingForSlotsQueuesFollowUps(t *testing.T) {
	f := setup(t, "hello")
	opt := queued(t, f)
	f.w.SendParallelism = 1
	ids, _ := f.people(t, 4)
	entered, release := f.smtp.HoldData()
	defer release()
	first := make(chan error, 1)
	go func() { first <- f.batch(ids[:1]) }()
	<-entered // the one slot is held by the first batch's message

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tasks := make([]*asynq.Task, 0, 3)
	for _, id := range ids[1:] {
		tasks = append(tasks, queue.NewSendTask(id, f.run.ID, "marketing", time.Time{}, 0))
	}
	second := make(chan error, 1)
	go func() { second <- f.w.HandleBatch(ctx, queue.Aggregate("g", tasks)) }()
	waitingForSlot := func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "worker.(*Worker).acquireSlot(")
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		c, err := f.st.CountLedger(context.Background(), f.run.ID)
		return err == nil && c[string(store.Claimed)] == 3 && waitingForSlot()
	})
	cancel()
	if err := <-second; err != nil {
		t.Fatalf("canceled batch: %v", err)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	counts, err := f.st.CountLedger(context.Background(), f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{string(store.Accepted): 1, string(store.Claimed): 3}; !reflect.DeepEqual(counts, want) || f.smtp.Count() != 1 {
		t.Fatalf("ledger %v, relay received %d; want %v and 1", counts, f.smtp.Count(), want)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	scheduled, err := insp.ListScheduledTasks(queue.ForPurpose("marketing"))
	if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) { // none queued yet
		t.Fatal(err)
	}
	var got []string
	for _, ti := range scheduled {
		p, err := queue.ParseSend(asynq.NewTask(ti.Type, ti.Payload))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.LedgerID)
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(ids[1:])); !slices.Equal(got, want) {
		t.Errorf("follow-up send tasks for %v, want one for each of %v", got, want)
	}
}
