package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/queue"
)

// The baselines: what bare asynq does on the same redis-server in the same
// run, so that relais' numbers are read as a share of what the queue
// itself allows on this machine.

// bareTask is a task the size of relais' send tasks (a 32-hex-digit id and
// a run number), on the marketing queue.
func bareTask() *asynq.Task {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	b, _ := json.Marshal(queue.SendPayload{LedgerID: hex.EncodeToString(id), RunID: 1})
	return asynq.NewTask("bench:noop", b, asynq.Queue(queue.Marketing))
}

// bareEnqueue enqueues n tasks from workers goroutines sharing one client
// (the reference: 8 goroutines) and returns tasks per second.
func bareEnqueue(ctx context.Context, opt asynq.RedisConnOpt, n, workers int) (float64, error) {
	c := asynq.NewClient(opt)
	defer c.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := c.EnqueueContext(ctx, bareTask()); err != nil {
					errc <- fmt.Errorf("bare enqueue: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// bareProcess enqueues n tasks, then processes them with a no-op handler
// at the given concurrency and returns tasks per second from the first
// to the last completion (the reference: concurrency 50).
func bareProcess(ctx context.Context, opt asynq.RedisConnOpt, n, concurrency int) (float64, error) {
	if _, err := bareEnqueue(ctx, opt, n, 8); err != nil {
		return 0, err
	}
	var done atomic.Int64
	var first, last atomic.Int64 // unix nanos
	all := make(chan struct{})
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: concurrency,
		Queues:      queue.Weights(),
		LogLevel:    asynq.ErrorLevel,
		Logger:      quietLogger{},
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error {
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		k := done.Add(1)
		if k == int64(n) {
			last.Store(now)
			close(all)
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return 0, fmt.Errorf("bare server: %w", err)
	}
	defer srv.Shutdown()
	select {
	case <-all:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(10 * time.Minute):
		return 0, fmt.Errorf("bare no-op processing: %d of %d after 10 min", done.Load(), n)
	}
	span := time.Duration(last.Load() - first.Load())
	if span <= 0 {
		return 0, fmt.Errorf("bare no-op processing: empty time span")
	}
	return float64(n-1) / span.Seconds(), nil
}

// quietLogger drops asynq's logs (the harness reports errors itself).
type quietLogger struct{}

func (quietLogger) Debug(...any) {}
func (quietLogger) Info(...any)  {}
func (quietLogger) Warn(...any)  {}
func (quietLogger) Error(args ...any) {
	slog.Error(fmt.Sprint(args...), "component", "asynq")
}
func (quietLogger) Fatal(args ...any) { slog.Error(fmt.Sprint(args...), "component", "asynq") }
