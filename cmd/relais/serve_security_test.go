package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
