package web

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/relais-dev/relais/internal/apikey"
)

func contextWith(r *http.Request, x *session) context.Context {
	return context.WithValue(r.Context(), sessionCtxKey{}, x)
}

// sessionOf returns the session auth put in the request's context.
func sessionOf(r *http.Request) *session {
	x, _ := r.Context().Value(sessionCtxKey{}).(*session)
	return x
}

// queues serves asynqmon: read-only for every session, writable only for
// a session whose key has the admin scope. A mutating request from a
// non-admin session is refused here with 403 before asynqmon sees it.
func (s *Server) queues(w http.ResponseWriter, r *http.Request) {
	x := sessionOf(r)
	if x != nil && x.Allows(apikey.ScopeAdmin) {
		s.monRW.ServeHTTP(w, r)
		return
	}
	if !safeMethod(r.Method) {
		http.Error(w, "acting on queues needs an API key with the admin scope", http.StatusForbidden)
		return
	}
	s.mon.ServeHTTP(w, r)
}

// loginLimiter is a per-address token bucket on sign-in attempts, so a
// key cannot be guessed through the form at network speed. Buckets idle
// for ten minutes are forgotten.
type loginLimiter struct {
	mu sync.Mutex
	m  map[string]*ipBucket
}

type ipBucket struct {
	l    *rate.Limiter
	seen time.Time
}

// Sign-in attempts: a burst of 10, then one every 6 s, per address.
const (
	loginBurst = 10
	loginEvery = 6 * time.Second
)

func (l *loginLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*ipBucket{}
	}
	if len(l.m) > 10000 {
		for k, b := range l.m {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.m, k)
			}
		}
	}
	b := l.m[ip]
	if b == nil {
		b = &ipBucket{l: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
		l.m[ip] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

// clientIP is the peer address of r (proxy headers are not trusted: they
// are the attacker's to write).
func clientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}
