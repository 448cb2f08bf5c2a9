// Package embedded runs relais without infrastructure: an in-process
// Redis-compatible server (miniredis) under asynq, a SQLite file in the data
// directory, and outbox transports.
package embedded

import (
	"fmt"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
)

// Redis is an in-process Redis-compatible server. It is not durable: its
// queue is lost when the process ends (the ledger in SQLite is not, and
// `relais recover` re-derives pending jobs from it).
type Redis struct {
	m *miniredis.Miniredis
}

// StartRedis starts miniredis on a free loopback port and logs the one
// warning that the embedded queue is not durable.
func StartRedis(log *slog.Logger) (*Redis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	if log != nil {
		log.Warn("embedded mode: the job queue is in memory and not durable; set RELAIS_REDIS_URL for production")
	}
	return &Redis{m: m}, nil
}

// URL is the redis:// URL of the embedded server.
func (r *Redis) URL() string { return "redis://" + r.m.Addr() + "/0" }

// Close stops the server.
func (r *Redis) Close() { r.m.Close() }
