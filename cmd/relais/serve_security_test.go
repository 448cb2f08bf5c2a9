package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/testenv"
)

// TestServeListenerHardening checks the public listener of `relais serve`:
// a client that sends its body slowly is cut after http_read_timeout,
// /metrics answers 401 without a key and 200 with a metrics key, and the
// database file is private to its owner.
func TestServeListenerHardening(t *testing.T) {
	dir := serveProject(t, nil)
	if err := os.WriteFile(filepath.Join(dir, "relais.yaml"), []byte("http_read_timeout: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, redisURL := testenv.StartRedis(t)
	addr := testenv.Addr(testenv.FreePort(t))
	env := map[string]string{"RELAIS_REDIS_URL": redisURL, "RELAIS_DATABASE_URL": "sqlite:" + dir + "/var/relais.db",
		"RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_HTTP_ADDR": addr}
	c := &cli{t: t, env: env}
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(c.mustRun(context.Background(), "apikey", "create", "prom", "--scope", "metrics", "--json").stdout), &key); err != nil {
		t.Fatal(err)
	}
	startServe(t, env, "--roles", "api")
	base := "http://" + addr
	waitUntil(t, "the API to listen", 10*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without a key: %v %v, want 401", resp.Status, err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key.Key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics with a metrics key: %v %v, want 200", resp.Status, err)
	}

	// A login form whose body never comes: the server must close the
	// connection after the read timeout instead of waiting for ever.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /ui/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nkey=rk_"); err != nil {
		t.Fatal(err)
	}
	// The deadline is only the test's guard; the server must act first.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a slow-body request open for 20 s (read timeout 1 s)")
	}

	for _, p := range []string{"var/relais.db"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			t.Errorf("%s has mode %o, want no access for group and others", p, m)
		}
	}
	if !strings.HasPrefix(addr, "127.0.0.1") {
		t.Fatalf("test listener %s is not loopback", addr)
	}
}

// TestDashboardSessionsAcrossProcesses signs in to the dashboard of a
// running `relais serve`, lists the sessions with `relais sessions`,
// ends one with `relais sessions revoke`, then revokes the other's key
// with the relais binary in another process: that open session gets a
// redirect to the login (GET) and 401 (POST) on its next request.
func TestDashboardSessionsAcrossProcesses(t *testing.T) {
	bin := buildRelais(t) // before serveProject changes the working directory
	dir := serveProject(t, nil)
	_, redisURL := testenv.StartRedis(t)
	addr := testenv.Addr(testenv.FreePort(t))
	env := map[string]string{"RELAIS_REDIS_URL": redisURL, "RELAIS_DATABASE_URL": "sqlite:" + dir + "/var/relais.db",
		"RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_HTTP_ADDR": addr}
	c := &cli{t: t, env: env}
	ctx := t.Context()
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "apikey", "create", "ops-desk", "--scope", "reports,runs", "--json").stdout), &key); err != nil {
		t.Fatal(err)
	}
	keyID, _ := apikey.ID(key.Key)
	startServe(t, env, "--roles", "api")
	base := "http://" + addr
	waitUntil(t, "the API to listen", 10*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	signIn := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.PostForm(base+"/ui/login", url.Values{"key": {key.Key}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: %d, want 303", resp.StatusCode)
		}
		return hc
	}
	status := func(hc *http.Client, method, path string) int {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	first, second := signIn(), signIn()
	var rows []struct {
		ID      string   `json:"id"`
		KeyName string   `json:"key_name"`
		Scopes  []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "sessions", "--json").stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].KeyName != "ops-desk" || strings.Join(rows[0].Scopes, ",") != "reports,runs" || len(rows[0].ID) != 12 {
		t.Fatalf("relais sessions = %+v, want 2 sessions of key ops-desk (reports,runs) with 12-character ids", rows)
	}
	// The newest (second) session is listed first.
	if r := c.run(ctx, "sessions", "revoke", rows[0].ID); r.code != 0 || !strings.Contains(r.stdout, "session "+rows[0].ID+" ended") {
		t.Fatalf("relais sessions revoke: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := c.run(ctx, "sessions", "revoke", rows[0].ID); r.code != exitUser {
		t.Errorf("revoking an ended session: exit %d, want %d", r.code, exitUser)
	}
	if got := status(second, http.MethodGet, "/ui/"); got != http.StatusSeeOther {
		t.Errorf("GET /ui/ with the revoked session: %d, want a redirect to login", got)
	}
	if got := status(first, http.MethodGet, "/ui/"); got != http.StatusOK {
		t.Fatalf("GET /ui/ with the other session: %d, want 200", got)
	}

	cmd := exec.Command(bin, "apikey", "revoke", keyID)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "revoked "+keyID+" (1 dashboard session(s) ended)") {
		t.Fatalf("relais apikey revoke in another process: %v\n%s", err, out)
	}
	if got := status(first, http.MethodGet, "/ui/"); got != http.StatusSeeOther {
		t.Errorf("GET /ui/ after the key was revoked: %d, want a redirect to login", got)
	}
	if got := status(first, http.MethodPost, "/ui/runs/1/pause"); got != http.StatusUnauthorized {
		t.Errorf("POST a run action after the key was revoked: %d, want 401", got)
	}
	if r := c.mustRun(ctx, "sessions"); !strings.Contains(r.stdout, "no open dashboard session") {
		t.Errorf("relais sessions after the revocation: %q", r.stdout)
	}
}
