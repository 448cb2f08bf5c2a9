package email

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxDomains bounds the limiter map; past it, limiters that are full (idle
// long enough to have refilled) are forgotten, which loses nothing.
const maxDomains = 10000

// throttle paces messages per recipient domain.
type throttle struct {
	limit rate.Limit
	burst int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newThrottle(perSecond float64) *throttle {
	burst := int(perSecond)
	if burst < 1 {
		burst = 1
	}
	return &throttle{limit: rate.Limit(perSecond), burst: burst, limiters: map[string]*rate.Limiter{}}
}

// wait blocks until a message to address may be sent, or ctx ends.
func (t *throttle) wait(ctx context.Context, address string) error {
	domain := address
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		domain = address[i+1:]
	}
	domain = strings.ToLower(domain)
	t.mu.Lock()
	l, ok := t.limiters[domain]
	if !ok {
		if len(t.limiters) >= maxDomains {
			t.evictIdle()
		}
		l = rate.NewLimiter(t.limit, t.burst)
		t.limiters[domain] = l
	}
	t.mu.Unlock()
	return l.Wait(ctx)
}

func (t *throttle) evictIdle() {
	now := time.Now()
	for d, l := range t.limiters {
		if l.TokensAt(now) >= float64(t.burst) {
			delete(t.limiters, d)
		}
	}
}
