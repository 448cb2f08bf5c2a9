package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/web"
)

// client returns an HTTP client with a cookie jar that does not follow
// redirects, so tests see each hop.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func login(t *testing.T, c *http.Client, base, key, next string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(base+"/ui/login", url.Values{"key": {key}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestLogin(t *testing.T) {
	now := time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), Now: clock, SessionTTL: time.Hour}))
	defer srv.Close()

	tests := []struct {
		name       string
		key, next  string
		wantStatus int
		wantTo     string // Location after a successful login
	}{
		{"empty key", "", "", http.StatusUnauthorized, ""},
		{"wrong key", "rk_nope", "", http.StatusUnauthorized, ""},
		{"checker down", brokenKey, "", http.StatusServiceUnavailable, ""},
		{"good key", testKey, "", http.StatusSeeOther, "/ui/"},
		{"good key back to the page asked", testKey, "/ui/campaigns/printemps-2027", http.StatusSeeOther, "/ui/campaigns/printemps-2027"},
		{"no open redirect", testKey, "https://evil.example/", http.StatusSeeOther, "/ui/"},
		{"no scheme-relative redirect", testKey, "//evil.example/ui/", http.StatusSeeOther, "/ui/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t)
			resp := login(t, c, srv.URL, tc.key, tc.next)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("POST /ui/login: %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			hasSession := cookie(t, c, srv.URL, "relais_session") != ""
			if hasSession != (tc.wantTo != "") {
				t.Errorf("session cookie set = %v", hasSession)
			}
			if tc.wantTo != "" {
				if loc := resp.Header.Get("Location"); loc != tc.wantTo {
					t.Errorf("Location %q, want %q", loc, tc.wantTo)
				}
				if r, _ := get(t, c, srv.URL+"/ui/"); r.StatusCode != http.StatusOK {
					t.Errorf("GET /ui/ after login: %d", r.StatusCode)
				}
			}
		})
	}

	t.Run("pages need a session", func(t *testing.T) {
		for _, p := range []string{"/ui/", "/ui/campaigns/printemps-2027"} {
			resp, _ := get(t, client(t), srv.URL+p)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login?next=") {
				t.Errorf("GET %s without session: %d → %s", p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	t.Run("forged or expired cookies refused", func(t *testing.T) {
		c := client(t)
		login(t, c, srv.URL, testKey, "")
		good := cookie(t, c, srv.URL, "relais_session")
		forged := []byte(good)
		forged[3] ^= 1
		for _, v := range []string{string(forged), "", "x", good + "A"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ui/", nil)
			req.AddCookie(&http.Cookie{Name: "relais_session", Value: v})
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("cookie %q: %d, want a redirect to login", v, resp.StatusCode)
			}
		}
		now = now.Add(2 * time.Hour) // past the 1 h session
		if resp, _ := get(t, c, srv.URL+"/ui/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("expired session: %d, want a redirect to login", resp.StatusCode)
		}
	})
}

func TestPages(t *testing.T) {
	cat := exampleCatalog(t)
	commit := "0123456789abcdef0123456789abcdef01234567"
	runCommit := "fedcba9876543210fedcba9876543210fedcba98"
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), Catalog: cat, GitCommit: func() string { return commit },
		RunCommit: func(_ context.Context, id, hash string) string {
			if id == "printemps-2027" && hash != "" {
				return runCommit
			}
			return ""
		}}))
	defer srv.Close()
	c := client(t)
	login(t, c, srv.URL, testKey, "")
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"campaigns list with live version", "/ui/", 200, []string{`id="campaign-printemps-2027"`,
			"Newsletter de printemps", cat.Live("printemps-2027").ContentHash[:12], `<a href="/ui/runs/1">#1</a> done`, `id="live-commit"`, commit[:12]}},
		{"campaign page", "/ui/campaigns/printemps-2027", 200, []string{`data-stage="targeted">7<`, `data-stage="sent">5<`,
			`data-stage="opened">2<`, `data-stage="machine-opened">1<`, `data-stage="clicked">1<`, `data-stage="conversions">1<`,
			`id="refused-no_consent"`, `id="timeline-sent"`, "0.005 EUR", `id="kpi-roi">2499.00<`, "<svg",
			`id="runs"`, `<code title="` + runCommit + `">` + runCommit[:12] + `</code>`}},
		{"unknown campaign", "/ui/campaigns/nope", 404, nil},
		{"stylesheet", "/ui/static/style.css", 200, []string{"--accent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, srv.URL+tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tc.path, w)
				}
			}
		})
	}
}

// TestQueuesMount checks asynqmon is served under /ui/queues behind the
// login, against a real redis-server.
func TestQueuesMount(t *testing.T) {
	_, redisURL := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), RedisConnOpt: opt}))
	defer srv.Close()
	if resp, _ := get(t, client(t), srv.URL+"/ui/queues/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("asynqmon without session: %d, want a redirect to login", resp.StatusCode)
	}
	c := client(t)
	login(t, c, srv.URL, testKey, "")
	resp, body := get(t, c, srv.URL+"/ui/queues/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "/ui/queues") {
		t.Errorf("asynqmon index: %d\n%.300s", resp.StatusCode, body)
	}
	resp, body = get(t, c, srv.URL+"/ui/queues/api/queues")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "queues") {
		t.Errorf("asynqmon API: %d\n%.300s", resp.StatusCode, body)
	}
}
