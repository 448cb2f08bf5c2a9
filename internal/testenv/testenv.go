// Package testenv starts the real services tests use (redis-server on a
// free port, a throw-away PostgreSQL database, an SMTP server, a Twilio
// double) and skips, or fails under RELAIS_REQUIRE_SERVICES=1, when one is
// missing.
package testenv

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// Missing skips t because service is unavailable, or fails it when the
// environment requires every service (RELAIS_REQUIRE_SERVICES=1, as CI does).
func Missing(t testing.TB, service, why string) {
	t.Helper()
	if os.Getenv("RELAIS_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s is required (RELAIS_REQUIRE_SERVICES=1) but unavailable: %s", service, why)
	}
	t.Skipf("%s unavailable, skipping: %s", service, why)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}

// Eventually waits until cond holds, checking it every 10 ms, and fails
// t after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	WaitFor(t, "condition", timeout, cond)
}

// WaitFor waits until cond holds, checking it every 10 ms, and fails t
// naming what it waited for after timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
