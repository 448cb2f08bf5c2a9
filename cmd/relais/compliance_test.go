package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relais-dev/relais/internal/testenv"
)

// piiOf lists the personal data of frenchExport that must never reach a
// log or a queue payload: every address, phone (as typed and in E.164)
// and name.
func piiOf(t *testing.T) []string {
	t.Helper()
	var pii []string
	for _, line := range strings.Split(frenchExport, "\r\n")[1:] {
		f := strings.Split(line, ";")
		if len(f) < 8 {
			continue
		}
		pii = append(pii, f[2], f[3], f[6]) // first name, last name, email
		if f[7] != "" {
			digits := strings.ReplaceAll(f[7], " ", "")
			pii = append(pii, f[7], "+33"+digits[1:])
		}
	}
	if len(pii) < 20 {
		t.Fatalf("only %d PII strings extracted from the fixture", len(pii))
	}
	return pii
}

// TestNoPIIInLogsOrQueue sends the marketing campaign through a real
// redis-server and SMTP server with debug logs, and checks that neither
// the logs of every command (import, run, serve, consent, forget) nor any
// key or value left on Redis carries a recipient's address, phone or name.
func TestNoPIIInLogsOrQueue(t *testing.T) {
	dir := contactsProject(t)
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTP(t)
	c := &cli{t: t, env: map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": "sqlite:" + dir + "/var/relais.db",
		"RELAIS_SMTP_URL":     smtp.URL(),
		// The project's SMS campaigns have no Twilio here: their
		// messages go to files, which production allows only when asked.
		"RELAIS_OUTBOX_DIR": filepath.Join(dir, "var", "outbox"),
		"RELAIS_SECRET":     "test-secret-0123456789abcdef",
		"RELAIS_HTTP_ADDR":  testenv.Addr(testenv.FreePort(t)),
		"RELAIS_LOG_LEVEL":  "debug",
		"RELAIS_LOG_FORMAT": "text",
	}}
	ctx := context.Background()
	var logs strings.Builder
	keep := func(r result) { logs.WriteString(r.stderr) }

	keep(c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml"))
	keep(c.mustRun(ctx, "consent", "set", "P4", "--channel", "sms", "--granted", "--text", "v2"))
	keep(c.mustRun(ctx, "run", "campaigns/lettre.yaml", "--run-key", "k1"))

	// No worker runs yet: every task of the run waits on Redis.
	dump := dumpRedis(t, redisURL)
	if !strings.Contains(dump, "asynq") || strings.Count(dump, "relais:send") < len(wantSent) {
		t.Fatalf("the run's tasks are not on Redis:\n%.2000s", dump)
	}
	for _, p := range piiOf(t) {
		if strings.Contains(dump, p) {
			t.Errorf("Redis holds %q", p)
		}
	}

	sctx, cancel := context.WithCancel(ctx)
	served := make(chan result, 1)
	go func() { served <- c.run(sctx, "serve", "--roles", "worker") }()
	if !smtp.WaitFor(len(wantSent), 20*time.Second) {
		t.Errorf("SMTP got %d messages, want %d", smtp.Count(), len(wantSent))
	}
	cancel()
	r := <-served
	if r.code != 0 {
		t.Errorf("serve exit %d: %s", r.code, r.stderr)
	}
	keep(r)
	keep(c.mustRun(ctx, "contacts", "forget", "P1"))

	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") {
		t.Fatalf("no debug log captured; the check would be vacuous:\n%.2000s", out)
	}
	for _, p := range piiOf(t) {
		if strings.Contains(out, p) {
			i := strings.Index(out, p)
			t.Errorf("logs contain %q: …%s…", p, out[max(0, i-200):min(len(out), i+100)])
		}
	}
}

// dumpRedis returns every key of the test's own Redis with its value,
// whatever its type.
func dumpRedis(t *testing.T, url string) string {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	ctx := context.Background()
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, k := range keys {
		typ, err := rc.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rc.Get(ctx, k).Result()
		case "hash":
			v, err = rc.HGetAll(ctx, k).Result()
		case "list":
			v, err = rc.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = rc.SMembers(ctx, k).Result()
		case "zset":
			v, err = rc.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			v = "(" + typ + ")"
		}
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		fmt.Fprintf(&b, "%s = %v\n", k, v)
	}
	return b.String()
}
