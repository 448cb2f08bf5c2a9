package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestExitCodes runs the commands with good input, bad input, an
// unavailable service (a database and a Redis on a closed loopback port)
// and an interruption (a cancelled context, as SIGINT gives), and checks
// the one exit-code table: 0 done, 1 user error, 2 internal or
// unavailable, 130 interrupted; errors go to stderr, never stdout.
func TestExitCodes(t *testing.T) {
	project(t)
	if err := os.WriteFile("bad.yaml", []byte("id: x\nname: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := testenv.FreePort(t) // nothing listens there
	down := map[string]string{
		"RELAIS_DATABASE_URL": fmt.Sprintf("postgres://relais@127.0.0.1:%d/relais?connect_timeout=2", closed),
		"RELAIS_REDIS_URL":    fmt.Sprintf("redis://127.0.0.1:%d/0", closed),
		"RELAIS_SECRET":       "test-secret-0123456789abcdef",
	}
	const camp = "campaigns/printemps-2027.yaml"
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		env  map[string]string
		ctx  context.Context
		args []string
		code int
	}{
		{"validate good", nil, nil, []string{"validate"}, 0},
		{"validate bad file", nil, nil, []string{"validate", "bad.yaml"}, 1},
		{"validate missing file", nil, nil, []string{"validate", "nope.yaml"}, 1},
		{"plan good", nil, nil, []string{"plan", camp}, 0},
		{"plan bad file", nil, nil, []string{"plan", "bad.yaml"}, 1},
		{"plan database down", down, nil, []string{"plan", camp}, 2},
		{"plan interrupted", nil, cancelled, []string{"plan", camp}, 130},
		{"run good", nil, nil, []string{"run", camp, "--wait"}, 0},
		{"run bad file", nil, nil, []string{"run", "bad.yaml"}, 1},
		{"run services down", down, nil, []string{"run", camp}, 2},
		{"run interrupted before start", nil, cancelled, []string{"run", camp, "--wait", "--run-key", "k2"}, 130},
		{"status good", nil, nil, []string{"status"}, 0},
		{"status unknown run", nil, nil, []string{"status", "999"}, 1},
		{"status database down", down, nil, []string{"status"}, 2},
		{"contacts import good", nil, nil, []string{"contacts", "import", "samples/clients.csv"}, 0},
		{"contacts import missing file", nil, nil, []string{"contacts", "import", "nope.csv"}, 1},
		{"contacts import database down", down, nil, []string{"contacts", "import", "samples/clients.csv"}, 2},
		{"consent show good", nil, nil, []string{"consent", "show", "C001"}, 0},
		{"consent show unknown", nil, nil, []string{"consent", "show", "C999"}, 1},
		{"contacts export unknown", nil, nil, []string{"contacts", "export", "C999"}, 1},
		{"report good", nil, nil, []string{"report", "printemps-2027"}, 0},
		{"report database down", down, nil, []string{"report", "printemps-2027"}, 2},
		{"version", nil, nil, []string{"version"}, 0},
		{"unknown command", nil, nil, []string{"statu"}, 1},
		{"bad flag", nil, nil, []string{"status", "--nope"}, 1},
		{"bad configuration", map[string]string{"RELAIS_CONCURRENCY": "many"}, nil, []string{"status"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			c := &cli{t: t, env: tc.env}
			if c.env == nil {
				c.env = map[string]string{}
			}
			r := c.run(ctx, tc.args...)
			if r.code != tc.code {
				t.Fatalf("relais %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.code != 0 && (strings.TrimSpace(r.stderr) == "" || strings.Contains(r.stdout, "relais:")) {
				t.Errorf("relais %s: the error is not on stderr\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), r.stdout, r.stderr)
			}
		})
	}

	// Ctrl-C while `run --wait` sends: exit 130 and the command to resume.
	t.Run("run interrupted while sending", func(t *testing.T) {
		smtp := testenv.StartSMTP(t)
		entered, release := smtp.HoldData()
		defer release()
		c := &cli{t: t, env: map[string]string{"RELAIS_SMTP_URL": smtp.URL(), "RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_CONCURRENCY": "1"}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan result, 1)
		go func() {
			done <- c.run(ctx, "run", camp, "--wait", "--run-key", "k3", "--resend", "--reason", "interrupt test")
		}()
		select {
		case <-entered:
		case r := <-done:
			t.Fatalf("run ended before sending: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		cancel()
		release()
		r := <-done
		if r.code != 130 || !strings.Contains(r.stderr, "Resume with:\n  relais run "+camp+" --wait --run-key k3") || strings.Contains(r.stderr, "context canceled") {
			t.Errorf("interrupted run: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
}
