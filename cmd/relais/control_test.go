package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// unlimit removes the example campaign's email rate limit, for tests that
// send thousands of messages and are not about rates.
func unlimit(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "limits: { email: 50/s, ", "limits: { ", 1)
	if s == string(b) {
		t.Fatal("the example campaign's limits changed: update unlimit")
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runStatus is the part of `status RUN --json` the control tests read.
type runStatus struct {
	Run struct {
		State        string `json:"state"`
		CancelReason string `json:"cancel_reason"`
	} `json:"run"`
	Counts  map[string]int `json:"counts"`
	Pending int            `json:"pending"`
}

func (c *cli) status(run int) runStatus {
	c.t.Helper()
	var st runStatus
	r := c.mustRun(context.Background(), "status", strconv.Itoa(run), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		c.t.Fatalf("status: %v\n%s", err, r.stdout)
	}
	return st
}

// waitStatus polls a run's status until ok holds, or fails after timeout.
func (c *cli) waitStatus(run int, timeout time.Duration, what string, ok func(runStatus) bool) runStatus {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st := c.status(run)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("run %d: %s not reached after %s: %+v", run, what, timeout, st)
		}
		<-tick.C
	}
}

// TestPauseResumeCancel drains 5,000 recipients with two asynq servers in
// this test process, each with its own worker instance (two `serve
// --roles worker`), on SQLite and PostgreSQL. After `relais pause` the
// SMTP server accepts nothing more once 2 s have passed; after `resume`
// every recipient has exactly one message. A second run canceled mid-way
// ends with every unsent message canceled, the counts of status and
// report agreeing with what the SMTP server received.
func TestPauseResumeCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,000 messages")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := project(t)
			const n = 5000
			writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
			unlimit(t, filepath.Join(dir, "campaigns", "printemps-2027.yaml"))
			_, redisURL := testenv.StartRedis(t)
			smtp := testenv.StartSMTP(t)
			dbURL := "sqlite:" + filepath.Join(dir, "var", "relais.db")
			if db == "postgres" {
				dbURL = testenv.PostgresURL(t)
			}
			c := &cli{t: t, env: map[string]string{
				"RELAIS_REDIS_URL":    redisURL,
				"RELAIS_DATABASE_URL": dbURL,
				"RELAIS_SMTP_URL":     smtp.URL(),
				"RELAIS_SECRET":       "test-secret-0123456789abcdef",
				"RELAIS_CONCURRENCY":  "8",
				"RELAIS_LOG_LEVEL":    "error",
			}}
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

			c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--run-key", "one")
			if !smtp.WaitFor(300, time.Minute) {
				t.Fatalf("only %d messages sent in a minute", smtp.Count())
			}
			paused := time.Now()
			c.mustRun(context.Background(), "pause", "1")
			st := c.waitStatus(1, 2*time.Second, "no send in progress", func(s runStatus) bool {
				return s.Counts["claimed"]+s.Counts["submitting"] == 0
			})
			if st.Run.State != "paused" {
				t.Errorf("status says %q, want paused", st.Run.State)
			}
			// Nothing is accepted from 2 s after the pause on: watch for
			// 2 s more (a worker that ignored the pause would send
			// hundreds in that time).
			<-time.After(time.Until(paused.Add(2 * time.Second)))
			atTwo := smtp.Count()
			<-time.After(2 * time.Second)
			if got := smtp.Count(); got != atTwo || atTwo >= n {
				t.Fatalf("paused run: %d messages at pause+2s, %d at pause+4s (of %d)", atTwo, got, n)
			}
			if st := c.status(1); st.Counts["accepted"] != atTwo {
				t.Errorf("ledger has %d accepted, the SMTP server %d", st.Counts["accepted"], atTwo)
			}

			c.mustRun(context.Background(), "resume", "1")
			st = c.waitStatus(1, 3*time.Minute, "all sent", func(s runStatus) bool { return s.Pending == 0 })
			if st.Counts["accepted"] != n || smtp.Count() != n {
				t.Fatalf("after resume: ledger %v, SMTP %d, want %d accepted", st.Counts, smtp.Count(), n)
			}
			seen := map[string]bool{}
			for _, m := range smtp.Messages() {
				if seen[m.To[0]] {
					t.Fatalf("%s received two messages", m.To[0])
				}
				seen[m.To[0]] = true
			}

			// A second run, canceled mid-way.
			c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--run-key", "two", "--resend", "--reason", "second mailing")
			if !smtp.WaitFor(n+300, time.Minute) {
				t.Fatalf("second run: only %d messages sent in a minute", smtp.Count()-n)
			}
			c.mustRun(context.Background(), "cancel", "2", "--reason", "wrong offer")
			st = c.waitStatus(2, 30*time.Second, "settled", func(s runStatus) bool { return s.Pending == 0 })
			sent := smtp.Count() - n
			if st.Counts["accepted"] != sent || st.Counts["canceled"] != n-sent || st.Counts["canceled"] == 0 {
				t.Fatalf("canceled run: ledger %v, SMTP received %d of %d", st.Counts, sent, n)
			}
			if st.Run.State != "canceled" || st.Run.CancelReason != "wrong offer" {
				t.Errorf("status run: state %q reason %q", st.Run.State, st.Run.CancelReason)
			}
			if out := c.mustRun(context.Background(), "status", "2").stdout; !strings.Contains(out, "wrong offer") {
				t.Errorf("status does not show the reason:\n%s", out)
			}
			var rep struct {
				Runs []struct {
					RunID int64 `json:"run_id"`
					Total struct {
						Sent     int `json:"sent"`
						Canceled int `json:"canceled"`
					} `json:"total"`
				} `json:"runs"`
			}
			r := c.mustRun(context.Background(), "report", "printemps-2027", "--json")
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("report: %v\n%s", err, r.stdout)
			}
			if len(rep.Runs) != 2 {
				t.Fatalf("report has %d runs, want 2:\n%s", len(rep.Runs), r.stdout)
			}
			for _, rr := range rep.Runs {
				want := map[int64][2]int{1: {n, 0}, 2: {sent, n - sent}}[rr.RunID]
				if rr.Total.Sent != want[0] || rr.Total.Canceled != want[1] {
					t.Errorf("report run %d: sent %d canceled %d, want %v", rr.RunID, rr.Total.Sent, rr.Total.Canceled, want)
				}
			}
		})
	}
}
