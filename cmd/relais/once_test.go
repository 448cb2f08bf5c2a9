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

// TestOnceAcrossVersions runs a campaign, then appends one audience row
// and edits the template: the second version sends exactly one message,
// to the new row. `run --resend --reason` then sends to everyone again,
// and status shows the reason.
func TestOnceAcrossVersions(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := project(t)
			const n = 20
			audience := filepath.Join(dir, "samples", "clients.csv")
			writeAudience(t, audience, n)
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
				"RELAIS_LOG_LEVEL":    "error",
			}}
			ctx, stop := context.WithCancel(context.Background())
			served := make(chan result, 1)
			go func() { served <- c.run(ctx, "serve", "--roles", "worker") }()
			defer func() {
				stop()
				if r := <-served; r.code != 0 {
					t.Errorf("worker exit %d: %s", r.code, r.stderr)
				}
			}()
			bg := context.Background()
			const file = "campaigns/printemps-2027.yaml"
			c.mustRun(bg, "run", file, "--wait")
			if !smtp.WaitFor(n, 30*time.Second) || smtp.Count() != n {
				t.Fatalf("first version: SMTP got %d, want %d", smtp.Count(), n)
			}

			// Version 2: one more person, and a fixed template.
			f, err := os.OpenFile(audience, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(f, "NEW1;Nouvelle;Venue;nouvelle@example.org;person;oui;3\n")
			f.Close()
			tpl := filepath.Join(dir, "templates", "printemps", "email.txt")
			b, err := os.ReadFile(tpl)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tpl, append(b, "\nErratum : la remise vaut jusqu'au 30 avril.\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
			if plan := c.mustRun(bg, "plan", file).stdout; !strings.Contains(plan, fmt.Sprintf("already received this step (earlier versions)  %d", n)) {
				t.Fatalf("plan:\n%s", plan)
			}
			r := c.mustRun(bg, "run", file, "--wait")
			if !strings.Contains(r.stdout, fmt.Sprintf("1 to send, %d already received this step", n)) {
				t.Errorf("second version's run says:\n%s", r.stdout)
			}
			if !smtp.WaitFor(n+1, 30*time.Second) {
				t.Fatalf("second version: SMTP got %d in all, want %d", smtp.Count(), n+1)
			}
			msgs := smtp.Messages()
			if last := msgs[len(msgs)-1]; last.To[0] != "nouvelle@example.org" {
				t.Errorf("second version sent to %s, want the appended row", last.To[0])
			}

			if r := c.run(bg, "run", file, "--resend"); r.code != 2 && r.code != 1 {
				t.Errorf("--resend without --reason: exit %d", r.code)
			}
			r = c.mustRun(bg, "run", file, "--resend", "--reason", "wrong date in the first mailing", "--wait")
			if !strings.Contains(r.stdout, fmt.Sprintf("%d to send, 0 already received", n+1)) {
				t.Errorf("resend run says:\n%s", r.stdout)
			}
			if !smtp.WaitFor(2*(n+1), 30*time.Second) || smtp.Count() != 2*(n+1) {
				t.Fatalf("resend: SMTP got %d in all, want %d", smtp.Count(), 2*(n+1))
			}
			if st := c.mustRun(bg, "status", "3").stdout; !strings.Contains(st, "wrong date in the first mailing") {
				t.Errorf("status of the resend does not show its reason:\n%s", st)
			}
		})
	}
}
