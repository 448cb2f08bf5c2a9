package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ExpandLock is a lease in Redis on the expansion of a run, so that two
// `relais run` of the same campaign and run key do not expand it at the
// same time: the second one attaches to the first.
type ExpandLock struct {
	C redis.UniversalClient
	// TTL is how long the lease outlives a holder that stopped renewing
	// it (killed); default 30s. It is renewed every TTL/3.
	TTL time.Duration
}

// releaseScript deletes the lease only when it is still ours.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// renewScript extends the lease only when it is still ours.
var renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)

// Acquire takes the expansion lease of run runID. ok is false when
// another process holds it. release gives it back (and stops renewing).
func (l ExpandLock) Acquire(ctx context.Context, runID int64) (release func(), ok bool, err error) {
	ttl := l.TTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	token := hex.EncodeToString(buf)
	key := fmt.Sprintf("relais:expand:%d", runID)
	ok, err = l.C.SetNX(ctx, key, token, ttl).Result()
	if err != nil || !ok {
		return func() {}, false, err
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = renewScript.Run(context.Background(), l.C, []string{key}, token, ttl.Milliseconds()).Err()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		_ = releaseScript.Run(context.Background(), l.C, []string{key}, token).Err()
	}, true, nil
}
