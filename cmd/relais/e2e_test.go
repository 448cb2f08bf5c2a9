package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// The example campaign's expected recipients: persons who opted in and
// the business that did not opt out, among customers with ≥ 1 order.
var wantRecipients = map[string]string{
	"camille.durand@example.org":      "Camille",
	"julien.moreau@example.org":       "Julien",
	"lea.lefevre@example.net":         "Léa",
	"contact@atelier-garnier.example": "Sophie",
	"manon.fournier@example.org":      "Manon",
}

func checkMail(t *testing.T, raw []byte, to string) {
	t.Helper()
	m := parseMail(t, raw)
	first := wantRecipients[to]
	if first == "" {
		t.Fatalf("message to unexpected recipient %s", to)
	}
	if !strings.HasPrefix(m.Subject, first+", le printemps arrive") {
		t.Errorf("%s: subject %q not personalized", to, m.Subject)
	}
	if !strings.Contains(m.Text, "Bonjour "+first+",") || !strings.Contains(m.HTML, "Bonjour "+first+",") {
		t.Errorf("%s: text or HTML part missing or not personalized:\ntext=%q\nhtml=%q", to, m.Text, m.HTML)
	}
	if id := m.Header.Get("Message-Id"); !strings.HasSuffix(id, "@dupont.example>") {
		t.Errorf("%s: Message-ID %q is not <uuid@sending-domain>", to, id)
	}
}

// TestEmbeddedRun is `make run` as a new user sees it: no Redis, no
// database, no SMTP; the campaign's emails land in ./var/outbox.
func TestEmbeddedRun(t *testing.T) {
	dir := project(t)
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	r := c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	if !strings.Contains(r.stderr, "not durable") {
		t.Errorf("no warning that the embedded queue is not durable:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, filepath.Join("var", "outbox")) {
		t.Errorf("output does not say where the outbox is:\n%s", r.stdout)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "var", "outbox", "email", "*.eml"))
	if len(files) != len(wantRecipients) {
		t.Fatalf("%d .eml files, want %d\n%s", len(files), len(wantRecipients), r.stdout)
	}
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		to := parseMail(t, raw).Header.Get("To")
		addr := to[strings.Index(to, "<")+1 : len(to)-1]
		checkMail(t, raw, addr)
		seen[addr] = true
	}
	if len(seen) != len(wantRecipients) {
		t.Errorf("recipients %v, want one each of %v", seen, wantRecipients)
	}

	// Same campaign, same (default) run key: nothing new is sent.
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	again, _ := filepath.Glob(filepath.Join(dir, "var", "outbox", "email", "*.eml"))
	if len(again) != len(files) {
		t.Fatalf("second run wrote %d new messages", len(again)-len(files))
	}

	// status lists the run with its refusals.
	st := c.mustRun(ctx, "status", "1", "--json")
	var status struct {
		Counts  map[string]int `json:"counts"`
		Pending int            `json:"pending"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	if status.Counts["accepted"] != 5 || status.Counts["refused:no_consent"] != 1 || status.Counts["refused:opted_out"] != 1 || status.Pending != 0 {
		t.Errorf("status counts %v", status.Counts)
	}
	// Without a run, status lists the runs and the campaign versions serve
	// would make live.
	if list := c.mustRun(ctx, "status"); !strings.Contains(list.stdout, "printemps-2027  version ") {
		t.Errorf("status does not show the live campaign version:\n%s", list.stdout)
	}
}

// TestRunOnRedisAndSMTP sends the example campaign through a real
// redis-server and a real SMTP server with a separate `serve` worker, on
// SQLite and on PostgreSQL; each recipient gets exactly one message, and a
// second run with the same key sends nothing.
func TestRunOnRedisAndSMTP(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			project(t)
			_, redisURL := testenv.StartRedis(t)
			smtp := testenv.StartSMTP(t)
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "relais.db")
			if db == "postgres" {
				dbURL = testenv.PostgresURL(t)
			}
			c := &cli{t: t, env: map[string]string{
				"RELAIS_REDIS_URL":    redisURL,
				"RELAIS_DATABASE_URL": dbURL,
				"RELAIS_SMTP_URL":     smtp.URL(),
				"RELAIS_SECRET":       "test-secret-0123456789abcdef",
				"RELAIS_HTTP_ADDR":    testenv.Addr(testenv.FreePort(t)),
			}}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan result, 1)
			go func() { served <- c.run(ctx, "serve", "--roles", "worker,api") }()
			defer func() {
				cancel()
				if r := <-served; r.code != 0 {
					t.Errorf("serve exit %d: %s", r.code, r.stderr)
				}
			}()

			c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--wait", "--run-key", "k1")
			if !smtp.WaitFor(len(wantRecipients), 10*time.Second) {
				t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients))
			}
			msgs := smtp.Messages()
			var tos []string
			for _, m := range msgs {
				if len(m.To) != 1 {
					t.Fatalf("message with %d recipients", len(m.To))
				}
				checkMail(t, m.Data, m.To[0])
				tos = append(tos, m.To[0])
			}
			sort.Strings(tos)
			for i := 1; i < len(tos); i++ {
				if tos[i] == tos[i-1] {
					t.Errorf("%s got two messages", tos[i])
				}
			}

			c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--wait", "--run-key", "k1")
			testenv.WaitQueuesIdle(t, redisURL, 10*time.Second) // nothing left that could send a duplicate
			if n := smtp.Count(); n != len(wantRecipients) {
				t.Fatalf("second run with the same key sent %d more", n-len(wantRecipients))
			}
		})
	}
}

// TestValidateRejects checks that validate exits 1 with path:line:col for
// an unknown key, a missing template and a field the audience lacks.
func TestValidateRejects(t *testing.T) {
	project(t)
	bad := map[string]string{
		"campaigns/unknown-key.yaml": strings.Replace(readFile(t, "campaigns/printemps-2027.yaml"), "  where:", "  wher:", 1),
		"campaigns/missing-template.yaml": strings.Replace(readFile(t, "campaigns/printemps-2027.yaml"),
			"templates/printemps/email.txt", "templates/printemps/absent.txt", 1),
		"campaigns/missing-field.yaml": strings.Replace(readFile(t, "campaigns/printemps-2027.yaml"),
			"{{.Contact.FirstName}}, le", "{{.Contact.Attrs.loyalty_tier}}, le", 1),
	}
	for p, s := range bad {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &cli{t: t, env: map[string]string{}}
	ok := c.run(context.Background(), "validate", "campaigns/printemps-2027.yaml")
	if ok.code != 0 {
		t.Fatalf("example campaign invalid: %s", ok.stdout)
	}
	tests := []struct {
		name, file, want string
	}{
		{"unknown key", "campaigns/unknown-key.yaml", "campaigns/unknown-key.yaml:10:3: "},
		{"missing template", "campaigns/missing-template.yaml", "campaigns/missing-template.yaml:19:13: "},
		{"field the audience lacks", "campaigns/missing-field.yaml", "campaigns/missing-field.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(context.Background(), "validate", tt.file)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.want) {
				t.Errorf("output %q does not contain %q", r.stdout, tt.want)
			}
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
