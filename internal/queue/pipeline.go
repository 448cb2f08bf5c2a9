package queue

import (
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// An expansion enqueues thousands of tasks, each one Redis round trip (a
// Lua script), from several goroutines at once: Redis then spends most of
// its time reading and answering single commands. The enqueue client
// therefore autopipelines (go-redis' AutoPipeline, blocking face): the
// commands issued while a pipeline is on the wire leave together in the
// next one, with no timer (a lone command goes out at once). Each caller
// still gets its own reply and returns only once it has it, so an enqueue
// means what it meant.

// EnqueueClient is an asynq client whose concurrent enqueues share Redis
// round trips, with its own Redis connections.
type EnqueueClient struct {
	*asynq.Client
	closers []interface{ Close() error }
}

// autoPipeliner is a go-redis client that can autopipeline (a standalone,
// Sentinel-managed or cluster client).
type autoPipeliner interface {
	AutoPipeline() (*redis.AutoPipeliner, error)
}

// NewEnqueueClient returns the enqueue client of opt's Redis. A client
// that cannot autopipeline sends each enqueue on its own.
func NewEnqueueClient(opt asynq.RedisConnOpt) *EnqueueClient {
	rc := opt.MakeRedisClient().(redis.UniversalClient)
	c := &EnqueueClient{closers: []interface{ Close() error }{rc}}
	var conn redis.UniversalClient = rc
	if a, ok := rc.(autoPipeliner); ok {
		if ap, err := a.AutoPipeline(); err == nil {
			conn = ap
			c.closers = append([]interface{ Close() error }{ap}, c.closers...)
		}
	}
	c.Client = asynq.NewClientFromRedisClient(conn)
	return c
}

// Close closes the client and its connections.
func (c *EnqueueClient) Close() error {
	err := c.Client.Close()
	for _, cl := range c.closers {
		if cerr := cl.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
