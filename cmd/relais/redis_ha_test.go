package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// haRun sends the example campaign to n recipients through one worker
// process on the Redis at redisURL; mid is called once a quarter of the
// messages are accepted (nil: nothing). It checks that every recipient
// got exactly one message, counted at the SMTP server.
func haRun(t *testing.T, redisURL string, n int, mid func(c *cli)) {
	bin := buildRelais(t) // before project() changes the working directory
	dir := project(t)
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
	editFile(t, filepath.Join(dir, "campaigns", "printemps-2027.yaml"), "email: 50/s, ", "")
	var mu sync.Mutex
	perRcpt := map[string]int{}
	smtp := testenv.StartSMTPWith(t, testenv.SMTPOptions{Discard: true, OnAccept: func(m testenv.ReceivedMessage) {
		mu.Lock()
		defer mu.Unlock()
		for _, to := range m.To {
			perRcpt[to]++
		}
	}})
	env := map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       "test-secret-0123456789abcdef",
		"RELAIS_CONCURRENCY":  "8",
		"RELAIS_LOG_LEVEL":    "warn",
	}
	c := &cli{t: t, env: env}
	ctx := context.Background()
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--run-key", "ha")
	w := startDaemon(t, bin, t.TempDir(), env, "serve", "--roles", "worker")
	if mid != nil {
		if !smtp.WaitFor(n/4, 2*time.Minute) {
			t.Fatalf("%d messages after 2 minutes, want %d\n%s", smtp.Count(), n/4, w.log)
		}
		mid(c)
	}
	if !smtp.WaitFor(n, 3*time.Minute) {
		t.Fatalf("%d messages accepted, want %d\n%s", smtp.Count(), n, w.log)
	}
	waitRunDoneN(t, c, 1, n)
	if got := smtp.Count(); got != n {
		t.Errorf("SMTP server accepted %d messages, want %d", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(perRcpt) != n {
		t.Errorf("%d recipients got a message, want %d", len(perRcpt), n)
	}
	for to, k := range perRcpt {
		if k != 1 {
			t.Errorf("%s received %d messages", to, k)
		}
	}
}

// TestSentinelFailoverMidRun delivers a run through a redis-sentinel://
// URL while the sentinels promote the replica mid-run: the worker follows
// the new master, and after `relais recover` (which re-derives from the
// ledger the queue writes an asynchronous replica may have missed) every
// recipient has exactly one message.
func TestSentinelFailoverMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five Redis processes and waits for a failover")
	}
	set := testenv.StartSentinel(t)
	const n = 2000
	haRun(t, set.URL(), n, func(c *cli) {
		before := set.MasterAddr()
		after := set.Failover()
		t.Logf("failover: master %s → %s", before, after)
		c.mustRun(context.Background(), "recover")
	})
}

// TestRedisClusterRun delivers a run through a redis-cluster:// URL on a
// three-master Redis Cluster.
func TestRedisClusterRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node Redis Cluster")
	}
	url := testenv.StartCluster(t)
	haRun(t, url, 1000, nil)
}

// waitRunDoneN waits until run id has no pending row and n accepted.
func waitRunDoneN(t *testing.T, c *cli, id int64, n int) {
	t.Helper()
	waitRunState(t, c, id, func(counts map[string]int, pending int) error {
		if pending > 0 {
			return errPending
		}
		if counts["accepted"] != n {
			return fmt.Errorf("ledger %v, want %d accepted", counts, n)
		}
		return nil
	})
}
