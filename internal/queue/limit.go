package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the generic cell rate algorithm in one Redis script, so that
// every worker process shares one budget per key. KEYS[1] holds the
// theoretical arrival time (TAT) in microseconds of Redis' clock; ARGV[1]
// is the emission interval (µs per message). A send is allowed when the
// TAT is not in the future; the answer is then 0 and the TAT moves one
// interval on. Otherwise the answer is the wait in µs. There is no burst:
// N messages take at least (N−1) intervals, whatever the number of
// workers. Numbers are formatted with %.0f because Lua would write large
// ones in exponent form and lose precision.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat > now then return string.format('%.0f', tat - now) end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil(interval / 1000) + 1000)
return '0'
`)

// Limiter enforces message rates across every worker process with Redis.
type Limiter struct {
	rdb redis.UniversalClient
}

// NewLimiter returns a limiter on rdb (see Client).
func NewLimiter(rdb redis.UniversalClient) *Limiter { return &Limiter{rdb: rdb} }

// Allow takes one message from key's budget of n per per. It returns 0
// when the message may go now, else how long to wait before asking again.
func (l *Limiter) Allow(ctx context.Context, key string, n int, per time.Duration) (time.Duration, error) {
	if n <= 0 || per <= 0 {
		return 0, nil
	}
	interval := per.Microseconds() / int64(n)
	if interval <= 0 {
		return 0, nil
	}
	s, err := gcra.Run(ctx, l.rdb, []string{"relais:rate:" + key}, interval).Text()
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	var us int64
	if _, err := fmt.Sscan(s, &us); err != nil {
		return 0, fmt.Errorf("rate limit %s: answer %q: %w", key, s, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}
