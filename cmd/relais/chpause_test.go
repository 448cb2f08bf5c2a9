package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/testenv"
)

// pausedChannels returns the channels `relais channels --json` reports
// paused, with the setting each names.
func (c *cli) pausedChannels() map[string]string {
	c.t.Helper()
	var out []channelStatus
	r := c.mustRun(context.Background(), "channels", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		c.t.Fatalf("channels --json: %v\n%s", err, r.stdout)
	}
	paused := map[string]string{}
	for _, s := range out {
		if s.Paused {
			paused[s.Channel] = s.Setting
		}
	}
	return paused
}

// scrapeMetrics returns the text of GET /metrics at addr.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errorLines returns the ERROR lines of a text log.
func errorLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return out
}

// TestSMTPAuthPausesChannel: the relay refuses AUTH (535) for the whole
// first phase of a 50-recipient run. The email channel pauses on the
// worker (seen by `relais channels`, `relais status` and /metrics), no row
// fails and none is accepted, and exactly one error is logged, naming
// RELAIS_SMTP_URL. Once the relay accepts again, `relais resume-channel
// email` sends all 50, each once, at the relay and in the ledger.
func TestSMTPAuthPausesChannel(t *testing.T) {
	dir := project(t)
	const n = 50
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
	unlimit(t, filepath.Join(dir, "campaigns", "printemps-2027.yaml"))
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTPWith(t, testenv.SMTPOptions{Username: "relais", Password: "s3cret-pass"})
	smtp.RefuseAuth(true)
	ops := testenv.Addr(testenv.FreePort(t))
	env := map[string]string{
		"RELAIS_REDIS_URL":              redisURL,
		"RELAIS_DATABASE_URL":           "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SMTP_URL":               smtp.URL(),
		"RELAIS_SECRET":                 "test-secret-0123456789abcdef",
		"RELAIS_CONCURRENCY":            "8",
		"RELAIS_OPS_ADDR":               ops,
		"RELAIS_CHANNEL_PROBE_INTERVAL": "0", // resumed by the operator only
		"RELAIS_LOG_FORMAT":             "text",
		"RELAIS_LOG_LEVEL":              "warn",
	}
	c := &cli{t: t, env: env}
	srv := startServe(t, env, "--roles", "worker")
	c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--run-key", "one")

	waitUntil(t, "the email channel paused", time.Minute, func() bool { return c.pausedChannels()["email"] != "" })
	st := c.waitStatus(1, time.Minute, "every row back to planned", func(s runStatus) bool {
		return s.Counts["planned"] == n
	})
	if st.Counts["failed"] != 0 || st.Counts["accepted"] != 0 || smtp.Count() != 0 || smtp.AuthFailures() == 0 {
		t.Fatalf("while the relay refuses AUTH: ledger %v, relay accepted %d, %d AUTH refused; want %d planned, none failed or accepted",
			st.Counts, smtp.Count(), smtp.AuthFailures(), n)
	}
	if got := c.pausedChannels(); len(got) != 1 || got["email"] != email.AccountSetting {
		t.Fatalf("relais channels: paused %v, want email naming %q", got, email.AccountSetting)
	}
	if out := c.mustRun(context.Background(), "status").stdout; !strings.Contains(out, "email\tPAUSED since") || !strings.Contains(out, "relais resume-channel email") {
		t.Errorf("relais status does not show the paused channel:\n%s", out)
	}
	if m := scrapeMetrics(t, ops); !strings.Contains(m, `relais_channel_paused{channel="email"} 1`) || !strings.Contains(m, `relais_channel_paused{channel="sms"} 0`) {
		t.Errorf("/metrics does not show email paused:\n%s", grepLines(m, "relais_channel_paused"))
	}
	// The requeued sends keep coming back while paused (a batch claims
	// its rows for a moment before giving back those of a paused
	// channel): none reaches the relay, none is failed.
	if st := c.status(1); st.Counts["planned"]+st.Counts["claimed"] != n || smtp.Count() != 0 {
		t.Fatalf("still paused: ledger %v, relay %d", st.Counts, smtp.Count())
	}
	errs := errorLines(srv.logs.String())
	if len(errs) != 1 || !strings.Contains(errs[0], "channel email paused") || !strings.Contains(errs[0], "RELAIS_SMTP_URL") ||
		!strings.Contains(errs[0], "relais resume-channel email") {
		t.Fatalf("%d error lines, want exactly one naming the channel, RELAIS_SMTP_URL and the command:\n%s", len(errs), strings.Join(errs, "\n"))
	}

	smtp.RefuseAuth(false)
	if out := c.mustRun(context.Background(), "resume-channel", "email").stdout; !strings.Contains(out, "channel email resumed") {
		t.Errorf("resume-channel: %q", out)
	}
	st = c.waitStatus(1, time.Minute, "all sent", func(s runStatus) bool { return s.Pending == 0 })
	if st.Counts["accepted"] != n || st.Counts["failed"] != 0 || smtp.Count() != n {
		t.Fatalf("after resume-channel: ledger %v, relay %d; want %d accepted, each once", st.Counts, smtp.Count(), n)
	}
	seen := map[string]bool{}
	for _, m := range smtp.Messages() {
		if seen[m.To[0]] {
			t.Fatalf("%s received two messages", m.To[0])
		}
		seen[m.To[0]] = true
	}
	if got := c.pausedChannels(); len(got) != 0 {
		t.Errorf("still paused after resume: %v", got)
	}
	if m := scrapeMetrics(t, ops); !strings.Contains(m, `relais_channel_paused{channel="email"} 0`) {
		t.Errorf("/metrics after resume:\n%s", grepLines(m, "relais_channel_paused"))
	}
	if errs := errorLines(srv.logs.String()); len(errs) != 1 {
		t.Errorf("%d error lines at the end, want 1:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// smsProject writes a marketing SMS campaign to n mobile numbers and a
// relais.yaml without quiet hours.
func smsProject(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("external_id;first_name;phone;kind;consent_sms\n")
	for i := range n {
		fmt.Fprintf(&csv, "S%03d;Prénom%d;06 12 00 %02d %02d;person;oui\n", i, i, i/100, i%100)
	}
	files := map[string]string{
		"relais.yaml":         "policy:\n  quiet_hours:\n    enabled: false\n",
		"samples/clients.csv": csv.String(),
		"campaigns/rappel.yaml": `id: rappel
purpose: marketing
audience: { source: file, file: samples/clients.csv }
sender: { sms: "` + e2eNumber + `" }
steps:
  - id: rappel
    channels: [sms]
    sms: { text: templates/rappel.txt }
`,
		"templates/rappel.txt": "Dernier jour des soldes, {{.Contact.FirstName}}. STOP au 36180",
	}
	for p, s := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	return dir
}

// TestTwilioAuthPausesChannel: Twilio answers 401 / 20003 to every request
// for the first phase of a 30-recipient SMS run. The sms channel pauses,
// no row fails or is accepted, one error names TWILIO_AUTH_TOKEN; once
// Twilio accepts the credentials again, the worker's probe (an account
// fetch every 200 ms) resumes the channel by itself and all 30 are sent,
// each once, at the double and in the ledger.
func TestTwilioAuthPausesChannel(t *testing.T) {
	dir := smsProject(t, 30)
	const n = 30
	_, redisURL := testenv.StartRedis(t)
	tw := testenv.StartTwilio(t)
	tw.RefuseAuth(true)
	ops := testenv.Addr(testenv.FreePort(t))
	env := map[string]string{
		"RELAIS_REDIS_URL":              redisURL,
		"RELAIS_DATABASE_URL":           "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SECRET":                 e2eSecret,
		"RELAIS_CONCURRENCY":            "8",
		"RELAIS_OPS_ADDR":               ops,
		"RELAIS_CHANNEL_PROBE_INTERVAL": "200ms",
		"RELAIS_LOG_FORMAT":             "text",
		"RELAIS_LOG_LEVEL":              "warn",
		"TWILIO_ACCOUNT_SID":            tw.AccountSID,
		"TWILIO_AUTH_TOKEN":             tw.AuthToken,
		"TWILIO_API_BASE_URL":           tw.URL,
	}
	c := &cli{t: t, env: env}
	srv := startServe(t, env, "--roles", "worker")
	c.mustRun(context.Background(), "run", "campaigns/rappel.yaml", "--run-key", "one")

	waitUntil(t, "the sms channel paused", time.Minute, func() bool { return c.pausedChannels()["sms"] != "" })
	st := c.waitStatus(1, time.Minute, "every row back to planned", func(s runStatus) bool {
		return s.Counts["planned"] == n
	})
	if st.Counts["failed"] != 0 || st.Counts["accepted"] != 0 || tw.Created() != 0 {
		t.Fatalf("while Twilio refuses: ledger %v, created %d; want %d planned, none failed or accepted", st.Counts, tw.Created(), n)
	}
	if got := c.pausedChannels(); len(got) != 1 || got["sms"] != twilio.CredentialsSetting {
		t.Fatalf("relais channels: paused %v, want sms naming %q", got, twilio.CredentialsSetting)
	}
	if m := scrapeMetrics(t, ops); !strings.Contains(m, `relais_channel_paused{channel="sms"} 1`) {
		t.Errorf("/metrics does not show sms paused:\n%s", grepLines(m, "relais_channel_paused"))
	}
	errs := errorLines(srv.logs.String())
	if len(errs) != 1 || !strings.Contains(errs[0], "channel sms paused") || !strings.Contains(errs[0], "TWILIO_AUTH_TOKEN") {
		t.Fatalf("%d error lines, want exactly one naming the channel and TWILIO_AUTH_TOKEN:\n%s", len(errs), strings.Join(errs, "\n"))
	}

	tw.RefuseAuth(false) // the probe sees it and resumes the channel
	st = c.waitStatus(1, time.Minute, "all sent", func(s runStatus) bool { return s.Pending == 0 })
	if st.Counts["accepted"] != n || st.Counts["failed"] != 0 || tw.Created() != n {
		t.Fatalf("after the probe: ledger %v, created %d; want %d accepted, each once", st.Counts, tw.Created(), n)
	}
	to := map[string]bool{}
	for _, r := range tw.Requests() {
		if r.Method == http.MethodPost && tw.Created() > 0 {
			to[r.Form.Get("To")] = true
		}
	}
	if len(to) != n {
		t.Errorf("%d distinct numbers asked for, want %d", len(to), n)
	}
	if got := c.pausedChannels(); len(got) != 0 {
		t.Errorf("still paused after the probe: %v", got)
	}
	if errs := errorLines(srv.logs.String()); len(errs) != 1 {
		t.Errorf("%d error lines at the end, want 1:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// TestProductionNeedsProvider: with a Redis URL (production mode), a
// campaign on sms without Twilio configured is a startup error of `run`
// and of `serve --roles worker`, naming the missing settings; with an
// explicit outbox_dir it runs and writes one file per message.
func TestProductionNeedsProvider(t *testing.T) {
	dir := smsProject(t, 3)
	_, redisURL := testenv.StartRedis(t)
	env := map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SECRET":       e2eSecret,
		"RELAIS_LOG_LEVEL":    "error",
	}
	c := &cli{t: t, env: env}
	for _, args := range [][]string{{"run", "campaigns/rappel.yaml"}, {"serve", "--roles", "worker"}} {
		r := c.run(context.Background(), args...)
		if r.code != 1 || !strings.Contains(r.stderr, "campaign rappel") || !strings.Contains(r.stderr, "TWILIO_ACCOUNT_SID") ||
			!strings.Contains(r.stderr, "outbox_dir") {
			t.Errorf("relais %s: exit %d, stderr %q; want 1 naming the campaign, TWILIO_ACCOUNT_SID and outbox_dir", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	written := 0
	_ = filepath.WalkDir(filepath.Join(dir, "var", "outbox"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			written++
		}
		return nil
	})
	if written != 0 {
		t.Fatalf("%d outbox files written without outbox_dir", written)
	}

	outbox := filepath.Join(dir, "out")
	env["RELAIS_OUTBOX_DIR"] = outbox
	startServe(t, env, "--roles", "worker")
	c.mustRun(context.Background(), "run", "campaigns/rappel.yaml", "--run-key", "one")
	st := c.waitStatus(1, time.Minute, "all sent", func(s runStatus) bool { return s.Pending == 0 })
	if st.Counts["accepted"] != 3 {
		t.Fatalf("with outbox_dir: ledger %v, want 3 accepted", st.Counts)
	}
	files, err := os.ReadDir(filepath.Join(outbox, "sms"))
	if err != nil || len(files) != 3 {
		t.Fatalf("outbox %s/sms: %d files (%v), want 3", outbox, len(files), err)
	}
}

// TestEmbeddedRunWaitsForPausedChannel: in embedded mode `run --wait`
// sends in-process; when the relay refuses AUTH it says on stderr that the
// channel is paused and how to resume it, and waits; after the fix and
// `relais resume-channel email` from another command it finishes with every
// recipient sent once.
func TestEmbeddedRunWaitsForPausedChannel(t *testing.T) {
	dir := project(t)
	const n = 10
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), n)
	unlimit(t, filepath.Join(dir, "campaigns", "printemps-2027.yaml"))
	smtp := testenv.StartSMTPWith(t, testenv.SMTPOptions{Username: "relais", Password: "s3cret-pass"})
	smtp.RefuseAuth(true)
	env := map[string]string{
		"RELAIS_SMTP_URL":               smtp.URL(),
		"RELAIS_CHANNEL_PROBE_INTERVAL": "0",
		"RELAIS_LOG_LEVEL":              "error",
	}
	c := &cli{t: t, env: env}
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runWith(context.Background(), nil, []string{"run", "campaigns/printemps-2027.yaml", "--wait"},
			func(k string) string { return env[k] }, &out, &errb)
	}()
	waitUntil(t, "the paused channel reported", time.Minute, func() bool {
		return strings.Contains(errb.String(), "channel email is paused")
	})
	if s := errb.String(); !strings.Contains(s, "RELAIS_SMTP_URL") || !strings.Contains(s, "relais resume-channel email") ||
		strings.Count(s, "channel email is paused") != 1 {
		t.Fatalf("stderr does not say once what to fix and how to resume:\n%s", s)
	}
	if smtp.Count() != 0 {
		t.Fatalf("relay accepted %d messages while refusing AUTH", smtp.Count())
	}
	smtp.RefuseAuth(false)
	c.mustRun(context.Background(), "resume-channel", "email")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run --wait: %v\n%s", err, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("run --wait did not finish within a minute of the resume")
	}
	if st := c.status(1); smtp.Count() != n || st.Counts["accepted"] != n || st.Counts["failed"] != 0 {
		t.Fatalf("relay accepted %d, ledger %v; want %d accepted, none failed; run printed:\n%s", smtp.Count(), st.Counts, n, out.String())
	}
}
