package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// buildRelais compiles the relais binary for tests that need a real
// process to kill.
func buildRelais(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "relais")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeAudience writes n opted-in persons as a CSV audience.
func writeAudience(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("external_id;first_name;last_name;email;kind;consent_email;orders_12m\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "K%04d;Prénom%d;Nom%d;client%04d@example.org;person;oui;3\n", i, i, i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKillWorkerMidRun kills a worker process with SIGKILL while sends are
// in flight and starts another: every recipient ends sent exactly once,
// except the sends caught mid-submission, which are held as ambiguous
// (sent at most once) and listed by `relais status`.
func TestKillWorkerMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for asynq to recover the killed worker's leases (about a minute)")
	}
	bin := buildRelais(t) // before project() changes the working directory
	dir := project(t)
	const n = 200
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTP(t)
	env := map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       "test-secret-0123456789abcdef",
		"RELAIS_CONCURRENCY":  "4",
		"RELAIS_LOG_LEVEL":    "warn",
	}
	c := &cli{t: t, env: env}
	ctx := context.Background()
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--run-key", "kill")

	startWorker := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--roles", "worker")
		cmd.SysProcAttr = childAttr()
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stderr = &syncBuffer{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	w1 := startWorker()
	if !smtp.WaitFor(50, 30*time.Second) {
		_ = w1.Process.Kill()
		t.Fatalf("worker sent only %d messages in 30s: %s", smtp.Count(), w1.Stderr)
	}
	// Freeze the relay mid-DATA until every one of the worker's 4 sends
	// is there, then kill: exactly those 4 are in flight.
	const inFlight = 4
	entered, release := smtp.HoldData()
	for range inFlight {
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatalf("fewer than %d sends reached DATA while held", inFlight)
		}
	}
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w1.Wait()
	release() // the relay now accepts what it held: the dead worker never learns it

	w2 := startWorker()
	defer func() {
		_ = w2.Process.Signal(syscall.SIGTERM)
		_ = w2.Wait()
	}()
	var st struct {
		Counts    map[string]int `json:"counts"`
		Pending   int            `json:"pending"`
		Ambiguous []struct {
			Ledger  string `json:"ledger_id"`
			Contact int64  `json:"contact_id"`
		} `json:"ambiguous"`
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r := c.mustRun(ctx, "status", "1", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status: %v\n%s", err, r.stdout)
		}
		if st.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not complete after the restart: %v\nworker log:\n%s", st.Counts, w2.Stderr)
		}
		time.Sleep(time.Second)
	}
	if got := st.Counts["accepted"] + st.Counts["ambiguous"]; got != n {
		t.Fatalf("ledger %v: %d rows accepted or ambiguous, want %d", st.Counts, got, n)
	}
	if a := st.Counts["ambiguous"]; a != inFlight {
		t.Errorf("%d ambiguous rows, want the %d in flight", a, inFlight)
	}
	if len(st.Ambiguous) != st.Counts["ambiguous"] {
		t.Errorf("status lists %d ambiguous sends, counts say %d", len(st.Ambiguous), st.Counts["ambiguous"])
	}
	perRcpt := map[string]int{}
	for _, m := range smtp.Messages() {
		perRcpt[m.To[0]]++
	}
	for to, k := range perRcpt {
		if k > 1 {
			t.Errorf("%s received %d messages", to, k)
		}
	}
	// Every recipient got exactly one message, but those held as ambiguous
	// may have got none (the relay could have refused what it held).
	if missing := n - len(perRcpt); missing > st.Counts["ambiguous"] {
		t.Errorf("%d recipients got nothing, more than the %d ambiguous sends", missing, st.Counts["ambiguous"])
	}
	human := c.mustRun(ctx, "status", "1")
	if !strings.Contains(human.stdout, "held as ambiguous") || !strings.Contains(human.stdout, st.Ambiguous[0].Ledger) {
		t.Errorf("status does not list the held sends:\n%s", human.stdout)
	}
}
