package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/web"
)

func post(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Post(u, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestQueuesReadOnlyForReports checks a reports key sees the queues but
// cannot act on them, and an admin key can.
func TestQueuesReadOnlyForReports(t *testing.T) {
	_, redisURL := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	cl := asynq.NewClient(opt)
	defer cl.Close()
	if _, err := cl.Enqueue(asynq.NewTask("noop", nil), asynq.Queue("marketing")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), RedisConnOpt: opt}))
	defer srv.Close()

	reports := client(t)
	login(t, reports, srv.URL, testKey, "")
	if resp, _ := get(t, reports, srv.URL+"/ui/queues/api/queues"); resp.StatusCode != http.StatusOK {
		t.Fatalf("reports key reading queues: %d", resp.StatusCode)
	}
	for _, p := range []string{"/ui/queues/api/queues/marketing:pause", "/ui/queues/api/queues/marketing/pending_tasks:archive_all",
		"/ui/queues/api/queues/marketing/pending_tasks:delete_all"} {
		if got := post(t, reports, srv.URL+p); got != http.StatusForbidden {
			t.Errorf("reports key POST %s: %d, want 403", p, got)
		}
	}
	admin := client(t)
	login(t, admin, srv.URL, adminKey, "")
	if got := post(t, admin, srv.URL+"/ui/queues/api/queues/marketing:pause"); got != http.StatusNoContent {
		t.Errorf("admin key pausing marketing: %d, want 204", got)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ui/queues/api/queues/marketing:resume", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST with an admin session: %d, want 403", resp.StatusCode)
	}
}

// TestSessionsEndWithTheirKey checks revoking a key ends its open session
// on the next request, logout and the idle timeout end one, and the
// sessions are listed.
func TestSessionsEndWithTheirKey(t *testing.T) {
	var mu sync.Mutex
	revoked := map[string]bool{}
	lookup := func(_ context.Context, id string) (web.Identity, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return web.Identity{KeyID: id}, !revoked[id], nil
	}
	now := time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	dash := newServer(t, web.Deps{Store: seededStore(t), LookupKey: lookup, Now: clock, SessionIdle: 10 * time.Minute})
	srv := httptest.NewServer(dash)
	defer srv.Close()

	c := client(t)
	login(t, c, srv.URL, testKey, "")
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/ after login: %d", resp.StatusCode)
	}
	if got := dash.Sessions(); len(got) != 1 || got[0].KeyID != "test" {
		t.Fatalf("Sessions() = %+v, want one session of key test", got)
	}
	mu.Lock()
	revoked["test"] = true
	mu.Unlock()
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /ui/ after revoking the key: %d, want a redirect to login", resp.StatusCode)
	}
	if n := len(dash.Sessions()); n != 0 {
		t.Errorf("%d sessions left after revoking the key, want 0", n)
	}

	mu.Lock()
	revoked["test"] = false
	mu.Unlock()
	c = client(t)
	login(t, c, srv.URL, testKey, "")
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /ui/ after the idle timeout: %d, want a redirect to login", resp.StatusCode)
	}

	c = client(t)
	login(t, c, srv.URL, testKey, "")
	s := dash.Sessions()
	if len(s) != 1 || !dash.RevokeSession(s[0].ID) {
		t.Fatalf("RevokeSession of %+v failed", s)
	}
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /ui/ after RevokeSession: %d, want a redirect to login", resp.StatusCode)
	}
}

// TestLoginRateLimited checks sign-in attempts from one address are
// bounded: after the burst, the next attempt gets 429.
func TestLoginRateLimited(t *testing.T) {
	now := time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), Now: func() time.Time { return now }}))
	defer srv.Close()
	codes := map[int]int{}
	for range 11 {
		codes[login(t, client(t), srv.URL, "rk_nope", "").StatusCode]++
	}
	if codes[http.StatusUnauthorized] != 10 || codes[http.StatusTooManyRequests] != 1 {
		t.Errorf("11 wrong attempts: %v, want 10×401 and 1×429", codes)
	}
	resp, _ := get(t, client(t), srv.URL+"/ui/login")
	if csp := resp.Header.Get("Content-Security-Policy"); csp != web.ContentSecurityPolicy {
		t.Errorf("login page CSP %q", csp)
	}
}
