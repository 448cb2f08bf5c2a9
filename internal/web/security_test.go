package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/web"
)

// cookie returns the value of the dashboard cookie name in c's jar.
func cookie(t *testing.T, c *http.Client, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base + "/ui/")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// post sends a POST with form values (nil: an empty JSON body) and extra
// headers, and returns the status.
func post(t *testing.T, c *http.Client, u string, form url.Values, header map[string]string) int {
	t.Helper()
	var req *http.Request
	if form != nil {
		req, _ = http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, _ = http.NewRequest(http.MethodPost, u, nil)
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// xsrf is the header the queue monitor's client sends, with c's token.
func xsrf(t *testing.T, c *http.Client, base string) map[string]string {
	return map[string]string{"X-XSRF-TOKEN": cookie(t, c, base, "XSRF-TOKEN")}
}

// TestQueuesReadOnlyForReports checks a reports key sees the queues but
// cannot act on them, and an admin key can, with the session's CSRF
// token and from the dashboard's own origin only.
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
		if got := post(t, reports, srv.URL+p, nil, xsrf(t, reports, srv.URL)); got != http.StatusForbidden {
			t.Errorf("reports key POST %s: %d, want 403", p, got)
		}
	}
	admin := client(t)
	login(t, admin, srv.URL, adminKey, "")
	pause := srv.URL + "/ui/queues/api/queues/marketing:pause"
	if got := post(t, admin, pause, nil, nil); got != http.StatusForbidden {
		t.Errorf("admin key pausing without the CSRF token: %d, want 403", got)
	}
	if got := post(t, admin, pause, nil, map[string]string{"X-XSRF-TOKEN": "forged"}); got != http.StatusForbidden {
		t.Errorf("admin key pausing with a wrong CSRF token: %d, want 403", got)
	}
	if got := post(t, admin, pause, nil, xsrf(t, admin, srv.URL)); got != http.StatusNoContent {
		t.Errorf("admin key pausing marketing: %d, want 204", got)
	}
	h := xsrf(t, admin, srv.URL)
	h["Origin"] = "https://evil.example"
	if got := post(t, admin, srv.URL+"/ui/queues/api/queues/marketing:resume", nil, h); got != http.StatusForbidden {
		t.Errorf("cross-origin POST with an admin session: %d, want 403", got)
	}
	info, err := asynq.NewInspector(opt).GetQueueInfo("marketing")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Paused || info.Pending != 1 {
		t.Errorf("queue marketing: paused %v, %d pending; want paused by the admin, 1 pending (nothing archived)", info.Paused, info.Pending)
	}
}

// TestSessionsEndWithTheirKey checks sessions live in the store (hashed),
// and end when their key is revoked, after the idle timeout, at the
// absolute timeout, and on logout.
func TestSessionsEndWithTheirKey(t *testing.T) {
	var mu sync.Mutex
	revoked := map[string]bool{}
	lookup := func(ctx context.Context, id string) (web.Identity, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		i, ok := identities[id]
		return i, ok && !revoked[id], nil
	}
	now := time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	st := seededStore(t)
	srv := httptest.NewServer(newServer(t, web.Deps{Store: st, LookupKey: lookup, Now: clock,
		SessionIdle: 10 * time.Minute, SessionTTL: time.Hour}))
	defer srv.Close()
	live := func() []store.Session {
		t.Helper()
		l, err := st.ListSessions(t.Context(), clock())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	signedOut := func(c *http.Client, when string) {
		t.Helper()
		resp, _ := get(t, c, srv.URL+"/ui/")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login") {
			t.Errorf("GET /ui/ %s: %d, want a redirect to login", when, resp.StatusCode)
		}
	}

	c := client(t)
	login(t, c, srv.URL, testKey, "")
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/ after login: %d", resp.StatusCode)
	}
	tok := cookie(t, c, srv.URL, "relais_session")
	if got := live(); len(got) != 1 || got[0].KeyID != "test" || got[0].ID != web.SessionID(tok) || got[0].ID == tok {
		t.Fatalf("sessions = %+v, want one of key test stored under the hash of its token", got)
	}
	mu.Lock()
	revoked["test"] = true
	mu.Unlock()
	signedOut(c, "after revoking the key")
	if n := len(live()); n != 0 {
		t.Errorf("%d sessions left after revoking the key, want 0", n)
	}

	// Idle timeout: a request at 9 min keeps the session, 10 min of
	// silence after it ends it.
	c = client(t)
	login(t, c, srv.URL, adminKey, "")
	advance(9 * time.Minute)
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /ui/ 9 min after login: %d, want 200", resp.StatusCode)
	}
	advance(9 * time.Minute)
	if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /ui/ 9 min after the last request: %d, want 200", resp.StatusCode)
	}
	advance(10 * time.Minute)
	signedOut(c, "after 10 min idle")

	// Absolute timeout: active every 9 min, the session still ends at 1 h.
	c = client(t)
	login(t, c, srv.URL, adminKey, "")
	for range 6 {
		advance(9 * time.Minute)
		if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /ui/ while active: %d, want 200", resp.StatusCode)
		}
	}
	advance(6 * time.Minute)
	signedOut(c, "at the absolute timeout")

	// Logout needs the CSRF token, then ends the session in the store.
	c = client(t)
	login(t, c, srv.URL, adminKey, "")
	if got := post(t, c, srv.URL+"/ui/logout", url.Values{}, nil); got != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d, want 403", got)
	}
	if got := post(t, c, srv.URL+"/ui/logout", url.Values{"csrf": {cookie(t, c, srv.URL, "XSRF-TOKEN")}}, nil); got != http.StatusSeeOther {
		t.Errorf("logout: %d, want 303", got)
	}
	if n := len(live()); n != 0 {
		t.Errorf("%d sessions left after logout, want 0", n)
	}
}

// activeRun adds to s a run of printemps-2027 with 4 planned messages.
func activeRun(t *testing.T, s store.Store) store.Run {
	t.Helper()
	ctx := t.Context()
	r, _, err := s.CreateRun(ctx, store.Run{CampaignID: "printemps-2027", RunKey: "active", ContentHash: "h2", State: store.RunSending, Planned: 4})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.LedgerRow
	for i := range 4 {
		row := store.LedgerRow{RunID: r.ID, CampaignID: r.CampaignID, StepID: "annonce", ContactID: int64(100 + i),
			Channel: "email", Purpose: "marketing", State: store.Planned}
		row.ID = store.LedgerID(row.RunID, row.StepID, row.ContactID, row.Channel)
		rows = append(rows, row)
	}
	if _, err := s.InsertLedger(ctx, rows); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunActions checks the run page's controls: a reports key sees no
// button and gets 403; a runs key may pause and resume but not cancel;
// an admin may cancel with a reason; every POST needs the CSRF token.
func TestRunActions(t *testing.T) {
	st := seededStore(t)
	r := activeRun(t, st)
	srv := httptest.NewServer(newServer(t, web.Deps{Store: st}))
	defer srv.Close()
	base := srv.URL + "/ui/runs/" + strconv.FormatInt(r.ID, 10)
	signIn := func(key string) (*http.Client, url.Values) {
		c := client(t)
		login(t, c, srv.URL, key, "")
		return c, url.Values{"csrf": {cookie(t, c, srv.URL, "XSRF-TOKEN")}}
	}
	runState := func() store.Run {
		t.Helper()
		got, err := st.GetRun(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	reports, tok := signIn(testKey)
	resp, body := get(t, reports, base)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `id="action-`) || !strings.Contains(body, `id="status">sending<`) {
		t.Errorf("run page for a reports key: %d, buttons shown = %v\n%.400s", resp.StatusCode, strings.Contains(body, `id="action-`), body)
	}
	for _, a := range []string{"pause", "resume", "cancel"} {
		if resp, _ := get(t, reports, base+"/"+a); resp.StatusCode != http.StatusForbidden {
			t.Errorf("reports key GET %s confirmation: %d, want 403", a, resp.StatusCode)
		}
		if got := post(t, reports, base+"/"+a, url.Values{"csrf": tok["csrf"], "reason": {"x"}}, nil); got != http.StatusForbidden {
			t.Errorf("reports key POST %s: %d, want 403", a, got)
		}
	}

	ops, tok := signIn(runsKey)
	if _, body := get(t, ops, base); !strings.Contains(body, `id="action-pause"`) || strings.Contains(body, `id="action-cancel"`) {
		t.Errorf("run page for a runs key: want a pause button and no cancel button\n%.400s", body)
	}
	if got := post(t, ops, base+"/pause", tok, nil); got != http.StatusSeeOther || runState().PausedAt.IsZero() {
		t.Errorf("runs key pausing: %d, paused at %v; want 303 and a paused run", got, runState().PausedAt)
	}
	if got := post(t, ops, base+"/resume", tok, nil); got != http.StatusSeeOther || !runState().PausedAt.IsZero() {
		t.Errorf("runs key resuming: %d, paused at %v; want 303 and a running run", got, runState().PausedAt)
	}
	if got := post(t, ops, base+"/cancel", url.Values{"csrf": tok["csrf"], "reason": {"wrong list"}}, nil); got != http.StatusForbidden {
		t.Errorf("runs key canceling: %d, want 403", got)
	}

	admin, tok := signIn(adminKey)
	if got := post(t, admin, base+"/pause", url.Values{}, nil); got != http.StatusForbidden {
		t.Errorf("admin POST pause without the CSRF token: %d, want 403", got)
	}
	if got := post(t, admin, base+"/pause", url.Values{"csrf": {"forged"}}, nil); got != http.StatusForbidden {
		t.Errorf("admin POST pause with a wrong CSRF token: %d, want 403", got)
	}
	if got := post(t, admin, base+"/pause", url.Values{"csrf": tok["csrf"]}, map[string]string{"Origin": "https://evil.example"}); got != http.StatusForbidden {
		t.Errorf("admin POST pause from another origin: %d, want 403", got)
	}
	if !runState().PausedAt.IsZero() {
		t.Fatal("a refused POST paused the run")
	}
	resp, body = get(t, admin, base+"/cancel")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="reason"`) || !strings.Contains(body, `name="csrf" value="`+tok["csrf"][0]+`"`) {
		t.Errorf("cancel confirmation: %d, want a form with a reason and the CSRF token\n%.600s", resp.StatusCode, body)
	}
	if got := post(t, admin, base+"/cancel", tok, nil); got != http.StatusBadRequest {
		t.Errorf("cancel without a reason: %d, want 400", got)
	}
	if got := post(t, admin, base+"/cancel", url.Values{"csrf": tok["csrf"], "reason": {"wrong list"}}, nil); got != http.StatusSeeOther {
		t.Errorf("admin canceling: %d, want 303", got)
	}
	got := runState()
	counts, err := st.CountLedger(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CancelReason != "wrong list (dashboard, key admin)" || counts[string(store.Canceled)] != 4 {
		t.Errorf("after cancel: reason %q, %d canceled; want the reason with the key and 4 canceled", got.CancelReason, counts[string(store.Canceled)])
	}
	if _, body := get(t, admin, base+"?done=cancel"); strings.Contains(body, `id="action-`) || !strings.Contains(body, `id="done"`) {
		t.Errorf("canceled run page: want no button and the done note\n%.400s", body)
	}
}
