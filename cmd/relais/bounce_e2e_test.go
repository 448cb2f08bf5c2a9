package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
)

// arf is an RFC 5965 feedback report quoting the headers of the
// complained-about message.
func arf(headers string) string {
	return `From: Feedback Loop <fbl@isp.example>
To: abuse@dupont.example
Subject: Abuse report
Message-ID: <arf-1@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"

--ARF
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.25.

--ARF
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <bounce@dupont.example>
Arrival-Date: Sat, 20 Mar 2027 10:00:00 +0100
Source-IP: 192.0.2.25

--ARF
Content-Type: text/rfc822-headers

` + headers + `
--ARF--
`
}

// hardDSN is a non-standard bounce text mailed to a VERP Return-Path.
func hardDSN(rp string) string {
	return `Return-Path: <>
From: MAILER-DAEMON@mx.example.org
To: ` + rp + `
Subject: failure notice
Message-ID: <dsn-hard-1@mx.example.org>

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.

<recipient@example.org>:
550 5.1.1 sorry, no mailbox here by that name
`
}

// TestComplaintOptsOutThroughWorker: a campaign is sent through SMTP with
// VERP Return-Paths and ledger headers; a feedback report about one
// message and a bounce of another arrive in the bounce mailbox; `relais
// bounces poll` records them; the next marketing run, through the real
// worker path, refuses the complainer with opted_out and the bounced
// address as suppressed, and the report counts the complaint and warns.
func TestComplaintOptsOutThroughWorker(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			project(t)
			smtp := testenv.StartSMTP(t)
			mbox := testenv.StartIMAP(t)
			env := map[string]string{"RELAIS_SMTP_URL": smtp.URL(), "RELAIS_BOUNCE_MAILBOX": mbox.URL(),
				"RELAIS_BOUNCE_DOMAIN": "bounces.dupont.example", "RELAIS_LOG_LEVEL": "warn"}
			if backend == "postgres" {
				env["RELAIS_DATABASE_URL"] = testenv.PostgresURL(t)
			}
			c := &cli{t: t, env: env}
			c.mustRun(t.Context(), "run", "campaigns/printemps-2027.yaml", "--wait")
			if !smtp.WaitFor(len(wantRecipients), 10*time.Second) {
				t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients))
			}
			verp := regexp.MustCompile(`^bounce\+[0-9a-f]{4}-[0-9a-f]{32}-[0-9a-f]{16}@bounces\.dupont\.example$`)
			byRcpt := map[string]testenv.ReceivedMessage{}
			for _, m := range smtp.Messages() {
				if !verp.MatchString(m.From) {
					t.Fatalf("envelope sender %q is not a VERP address of the bounce domain", m.From)
				}
				if !bytes.Contains(m.Data, []byte("\r\n"+bounce.LedgerHeader+": ")) {
					t.Fatalf("message to %v has no %s header", m.To, bounce.LedgerHeader)
				}
				byRcpt[m.To[0]] = m
			}
			complained, bounced := byRcpt["camille.durand@example.org"], byRcpt["julien.moreau@example.org"]
			headers, _, _ := strings.Cut(string(complained.Data), "\r\n\r\n")
			mbox.Deliver(t, arf(headers), hardDSN(bounced.From))

			r := c.mustRun(t.Context(), "bounces", "poll", "--json")
			var res bounce.PollResult
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("poll output: %v\n%s", err, r.stdout)
			}
			if res.Read != 2 || res.Complaints != 1 || res.Hard != 1 || res.Unmatched != 0 {
				t.Fatalf("poll: %+v, want 2 read, 1 complaint, 1 hard bounce", res)
			}
			if r := c.mustRun(t.Context(), "bounces", "poll", "--json"); !strings.Contains(r.stdout, `"read": 0`) {
				t.Fatalf("second poll read again:\n%s", r.stdout)
			}

			c.mustRun(t.Context(), "run", "campaigns/printemps-2027.yaml", "--run-key", "second", "--wait")
			if !smtp.WaitFor(len(wantRecipients)+3, 10*time.Second) {
				t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients)+3)
			}
			for _, m := range smtp.Messages()[len(wantRecipients):] {
				if m.To[0] == "camille.durand@example.org" || m.To[0] == "julien.moreau@example.org" {
					t.Errorf("second run sent to %s", m.To[0])
				}
			}
			out := c.mustRun(t.Context(), "report", "campaigns/printemps-2027.yaml", "--json")
			var rep report.Report
			if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Runs) != 2 {
				t.Fatalf("%d runs", len(rep.Runs))
			}
			second, first := rep.Runs[0].Total, rep.Runs[1].Total
			if second.Sent != 3 || second.RefusedBy["opted_out"] != 2 || second.RefusedBy["suppressed"] != 1 || second.RefusedBy["no_consent"] != 1 {
				t.Errorf("second run: sent %d, refused %v; want 3 sent, opted_out 2 (the earlier \"non\" and the complaint), suppressed 1, no_consent 1",
					second.Sent, second.RefusedBy)
			}
			if first.Complaints != 1 || first.Bounced != 1 || first.Sent != 5 || first.Rates.Complaint == nil || *first.Rates.Complaint != 0.25 {
				t.Errorf("first run: %d complaints, %d bounced, %d sent, complaint rate %v; want 1, 1, 5, 0.25",
					first.Complaints, first.Bounced, first.Sent, first.Rates.Complaint)
			}
			if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0]+rep.Warnings[1], "complaint rate") {
				t.Errorf("warnings %q, want the first run's and the campaign's complaint rate", rep.Warnings)
			}
			show := c.mustRun(t.Context(), "consent", "show", "camille.durand@example.org", "--json")
			if !strings.Contains(show.stdout, `"complaint"`) {
				t.Errorf("consent of the complainer does not cite the complaint:\n%s", show.stdout)
			}
			table := c.mustRun(t.Context(), "report", "campaigns/printemps-2027.yaml")
			if !strings.Contains(table.stdout, "warning: run") {
				t.Errorf("report table lacks the complaint warning:\n%s", table.stdout)
			}
		})
	}
}

// TestServeEmailFeedback: `relais serve --roles api,worker` polls the
// bounce mailbox (a feedback report there opts the person out) and serves
// the Postmark webhook where the Twilio ones are (a signed-in bounce moves
// the row; a request without credentials gets 401).
func TestServeEmailFeedback(t *testing.T) {
	dir := project(t)
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTP(t)
	mbox := testenv.StartIMAP(t)
	dbURL := "sqlite:" + filepath.Join(dir, "var", "relais.db")
	addr := testenv.Addr(testenv.FreePort(t))
	env := map[string]string{
		"RELAIS_REDIS_URL": redisURL, "RELAIS_DATABASE_URL": dbURL, "RELAIS_SMTP_URL": smtp.URL(),
		"RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_HTTP_ADDR": addr, "RELAIS_PUBLIC_URL": "http://" + addr,
		"RELAIS_BOUNCE_MAILBOX": mbox.URL(), "RELAIS_BOUNCE_POLL_INTERVAL": "1s",
		"RELAIS_POSTMARK_WEBHOOK_USER": "postmark", "RELAIS_POSTMARK_WEBHOOK_PASSWORD": "long-hook-password",
	}
	startServe(t, env, "--roles", "api,worker")
	c := &cli{t: t, env: env}
	c.mustRun(t.Context(), "run", "campaigns/printemps-2027.yaml", "--wait")
	if !smtp.WaitFor(len(wantRecipients), 20*time.Second) {
		t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients))
	}
	byRcpt := map[string]testenv.ReceivedMessage{}
	for _, m := range smtp.Messages() {
		byRcpt[m.To[0]] = m
	}
	headers, _, _ := strings.Cut(string(byRcpt["camille.durand@example.org"].Data), "\r\n\r\n")
	mbox.Deliver(t, arf(headers))

	st := openStore(t, dbURL)
	events := func(typ string) []store.Event {
		evs, err := st.ListEvents(t.Context(), store.EventFilter{Types: []string{typ}})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	waitUntil(t, "the complaint recorded by the serve poller", 20*time.Second, func() bool { return len(events(store.EventComplained)) == 1 })

	julien := byRcpt["julien.moreau@example.org"]
	tok := strings.TrimSuffix(strings.TrimPrefix(julien.From, "bounce+"), "@dupont.example")
	body := []byte(`{"RecordType":"Bounce","ID":42,"Type":"HardBounce","MessageID":"pm-1","BouncedAt":"2027-03-20T09:31:00Z","Metadata":{"relais_ledger":"` + tok + `"}}`)
	hook := "http://" + addr + bounce.HookPrefix + bounce.ProviderPostmark
	if code := postHook(t, hook, body, ""); code != 401 {
		t.Fatalf("postmark hook without credentials: %d, want 401", code)
	}
	if code := postHook(t, hook, body, "long-hook-password"); code != 200 {
		t.Fatalf("postmark hook: %d, want 200", code)
	}
	bounced := events(store.EventBounced)
	if len(bounced) != 1 {
		t.Fatalf("%d bounced events, want 1", len(bounced))
	}
	row, err := st.GetLedger(t.Context(), bounced[0].LedgerID)
	if err != nil || row.State != store.Bounced || row.Reason != "HardBounce" {
		t.Errorf("bounced row: %+v %v", row, err)
	}
}

func postHook(t *testing.T, url string, body []byte, password string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		req.SetBasicAuth("postmark", password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
