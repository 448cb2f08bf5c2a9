package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/testenv"
)

// Through asynq, concurrent enqueues on the pipelined client each land
// once: every task is in Redis, and a task id enqueued twice is refused
// to the second caller only.
func TestEnqueueClientConcurrentEnqueues(t *testing.T) {
	_, url := testenv.StartRedis(t)
	opt, err := RedisOpt(url)
	if err != nil {
		t.Fatal(err)
	}
	c := NewEnqueueClient(opt)
	defer c.Close()
	const tasks, workers = 1000, 16
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
		failures  []error
	)
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				// Tasks 0–99 are enqueued twice.
				id := fmt.Sprintf("row-%04d", i%tasks)
				group := []asynq.Option{}
				if i%2 == 0 {
					group = append(group, asynq.Group(fmt.Sprint("g", i%3)))
				}
				_, err := c.EnqueueContext(context.Background(), asynq.NewTask(TypeSend, []byte(id), asynq.TaskID(id), asynq.Queue(Marketing)), group...)
				mu.Lock()
				switch {
				case errors.Is(err, asynq.ErrTaskIDConflict):
					conflicts++
				case err != nil:
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range tasks + 100 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(failures) > 0 || conflicts != 100 {
		t.Fatalf("%d conflicts (want 100), failures %v", conflicts, failures)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	info, err := insp.GetQueueInfo(Marketing)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.Pending + info.Aggregating; n != tasks {
		t.Errorf("%d tasks in Redis (%d pending, %d aggregating), want %d", n, info.Pending, info.Aggregating, tasks)
	}
}
