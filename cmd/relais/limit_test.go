package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestRateLimitAcrossWorkers drains 1,000 messages of a campaign limited
// to email: 50/s with two asynq servers in this test process, each with
// its own worker instance: the Redis limiter is shared, so the last
// message cannot arrive sooner than 999 intervals of 20 ms after the
// first. The time is a lower bound the limiter guarantees; the upper
// bound only keeps the test from hanging.
func TestRateLimitAcrossWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("takes at least 20 s by design")
	}
	dir := project(t)
	const n = 1000
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTP(t)
	c := &cli{t: t, env: map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       "test-secret-0123456789abcdef",
		"RELAIS_CONCURRENCY":  "8",
		"RELAIS_LOG_LEVEL":    "error",
	}}
	const file = "campaigns/printemps-2027.yaml"
	if b := readFile(t, file); !strings.Contains(b, "email: 50/s") {
		t.Fatal("the example campaign is no longer limited to email: 50/s")
	}
	if plan := c.mustRun(context.Background(), "plan", file).stdout; !strings.Contains(plan, "email at 50/s") {
		t.Errorf("plan does not show the send duration at the limit:\n%s", plan)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan result, 2)
	for range 2 {
		go func() { served <- c.run(ctx, "serve", "--roles", "worker") }()
	}
	defer func() {
		stop()
		for range 2 {
			if r := <-served; r.code != 0 {
				t.Errorf("worker exit %d: %s", r.code, r.stderr)
			}
		}
	}()
	c.mustRun(context.Background(), "run", file)
	if !smtp.WaitFor(1, 30*time.Second) {
		t.Fatal("nothing sent in 30 s")
	}
	first := time.Now()
	if !smtp.WaitFor(n, 3*time.Minute) {
		t.Fatalf("only %d of %d sent in 3 minutes", smtp.Count(), n)
	}
	if d := time.Since(first); d < 19*time.Second {
		t.Errorf("1,000 messages at 50/s took %s from the first to the last, want at least 19 s", d)
	}
	// The SMTP server counts a message when it answers 250; the worker
	// records accepted right after reading that answer, so the last rows
	// may still read submitting for a moment.
	var counts map[string]int
	testenv.WaitFor(t, fmt.Sprintf("%d accepted in the ledger", n), 30*time.Second, func() bool {
		counts = c.status(1).Counts
		return counts["accepted"] == n
	})
	if len(counts) != 1 || smtp.Count() != n {
		t.Errorf("ledger %v and %d received, want only %d accepted, each received once", counts, smtp.Count(), n)
	}
}

// TestConfiguredChannelLimit: limits: {email: 10/s} in relais.yaml bounds
// every campaign's email (the example campaign allows 50/s): 21 messages
// take no less than 1.9 s from the first to the last (20 intervals of 100 ms, less the test's view of the first arrival), all delivered once,
// and plan shows the duration at the configured limit.
func TestConfiguredChannelLimit(t *testing.T) {
	dir := project(t)
	const n = 21
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
	if err := os.WriteFile(filepath.Join(dir, "relais.yaml"), []byte("limits: {email: 10/s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	smtp := testenv.StartSMTP(t)
	c := proofCLI(t, dir, smtp)
	const file = "campaigns/printemps-2027.yaml"
	if plan := c.mustRun(context.Background(), "plan", file).stdout; !strings.Contains(plan, "at least 2s for email at 10/s (configured limit)") {
		t.Errorf("plan does not show the send duration at the configured limit:\n%s", plan)
	}
	done := make(chan result, 1)
	go func() { done <- c.run(context.Background(), "run", file, "--wait") }()
	if !smtp.WaitFor(1, 30*time.Second) {
		t.Fatal("nothing sent in 30 s")
	}
	first := time.Now()
	if !smtp.WaitFor(n, time.Minute) {
		t.Fatalf("only %d of %d sent in a minute", smtp.Count(), n)
	}
	if d := time.Since(first); d < 1900*time.Millisecond {
		t.Errorf("%d messages at 10/s took %s from the first to the last, want at least 2 s", n, d)
	}
	if r := <-done; r.code != 0 || smtp.Count() != n {
		t.Fatalf("run: exit %d, %d sent, want %d\n%s", r.code, smtp.Count(), n, r.stderr)
	}
}
