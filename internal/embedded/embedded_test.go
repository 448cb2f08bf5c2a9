package embedded

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
)

// TestAsynqOnEmbeddedRedis proves asynq enqueues, refuses a duplicate task
// id, and processes tasks (including a retry) on the embedded server.
func TestAsynqOnEmbeddedRedis(t *testing.T) {
	r, err := StartRedis(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	opt, err := queue.RedisOpt(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := asynq.NewClient(opt)
	defer c.Close()
	for i := 0; i < 50; i++ {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		if _, err := c.Enqueue(queue.NewSendTask(id, 1, "marketing", time.Time{}, time.Hour)); err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}
	if _, err := c.Enqueue(queue.NewSendTask("aa", 1, "marketing", time.Time{}, time.Hour)); !queue.IsDuplicate(err) {
		t.Fatalf("duplicate task id accepted: %v", err)
	}
	var n, failedOnce atomic.Int32
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 8, Queues: queue.Weights(),
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond },
		DelayedTaskCheckInterval: 100 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(queue.TypeSend, func(ctx context.Context, tk *asynq.Task) error {
		p, err := queue.ParseSend(tk)
		if err != nil {
			return err
		}
		if p.LedgerID == "ab" && failedOnce.CompareAndSwap(0, 1) {
			return context.DeadlineExceeded // temporary: retried
		}
		n.Add(1)
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	testenv.WaitFor(t, "50 processed tasks", 20*time.Second, func() bool { return n.Load() >= 50 })
	if got := n.Load(); got != 50 {
		t.Fatalf("processed %d tasks, want 50", got)
	}
}
