package testenv

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// WaitQueuesIdle waits until no queue on the Redis at redisURL holds a task
// that could still run (pending, active, scheduled, retrying or waiting in a
// group): after it returns, nothing already enqueued can send another
// message, so counts taken at a receiving server are final.
func WaitQueuesIdle(t testing.TB, redisURL string, timeout time.Duration) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatalf("redis url %q: %v", redisURL, err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	WaitFor(t, "idle queues", timeout, func() bool {
		queues, err := insp.Queues()
		if err != nil {
			return false
		}
		for _, q := range queues {
			info, err := insp.GetQueueInfo(q)
			if err != nil {
				return false
			}
			if n := info.Pending + info.Active + info.Scheduled + info.Retry + info.Aggregating; n > 0 {
				return false
			}
		}
		return true
	})
}
