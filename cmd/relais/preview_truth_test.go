package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/tracking"
)

// previewJSONOut is what the tests read of `relais preview --json`.
type previewJSONOut struct {
	LedgerID    string            `json:"ledger_id"`
	LedgerState string            `json:"ledger_state"`
	To          string            `json:"to"`
	Headers     map[string]string `json:"headers"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html"`
	Text        string            `json:"text"`
	Refusal     *struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"refusal"`
}

func previewOf(t *testing.T, c *cli, args ...string) previewJSONOut {
	t.Helper()
	var p previewJSONOut
	out := c.mustRun(context.Background(), append([]string{"preview", "--json"}, args...)...).stdout
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("preview --json: %v\n%s", err, out)
	}
	return p
}

// TestPreviewRefusals: preview --json says why a run would not send to an
// opted-out recipient and to one the audience filter leaves out, and has
// no refusal for a recipient a run sends to.
func TestPreviewRefusals(t *testing.T) {
	dir := project(t)
	c := proofCLI(t, dir, testenv.StartSMTP(t))
	const file = "campaigns/printemps-2027.yaml"
	if p := previewOf(t, c, file, "--contact", "C004"); p.Refusal == nil || p.Refusal.Code != "opted_out" {
		t.Errorf("preview of C004 (consent_email non): refusal %+v, want opted_out", p.Refusal)
	}
	if p := previewOf(t, c, file, "--contact", "C005"); p.Refusal == nil || p.Refusal.Code != "filtered_out" ||
		!strings.Contains(p.Refusal.Reason, "attrs.orders_12m >= 1") {
		t.Errorf("preview of C005 (no order): refusal %+v, want filtered_out naming the where", p.Refusal)
	}
	p := previewOf(t, c, file, "--contact", "C001")
	if p.Refusal != nil {
		t.Errorf("preview of C001: refusal %+v, want none", p.Refusal)
	}
	if p.To != "camille.durand@example.org" || !strings.HasPrefix(p.Headers["List-Unsubscribe"], "<http") {
		t.Errorf("preview of C001: to %q, headers %v", p.To, p.Headers)
	}
	// Text output says it too.
	r := c.mustRun(context.Background(), "preview", file, "--contact", "C004", "--out", t.TempDir())
	if !strings.Contains(r.stdout, "a run would NOT send this message: opted_out") {
		t.Errorf("preview --out of C004 does not say it is refused:\n%s", r.stdout)
	}
}

// trackingURL matches this service's signed links.
var trackingURL = regexp.MustCompile(`https?://[^"'\s<>]+/([cuvo])/([A-Za-z0-9_-]+)(\.gif)?`)

// untokened replaces every signed link of s by what its token proves
// (purpose, ledger row, destination): tokens carry their signing second,
// so two renderings of one message differ only there.
func untokened(t *testing.T, sg *tracking.Signer, s string) string {
	t.Helper()
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return trackingURL.ReplaceAllStringFunc(s, func(u string) string {
		m := trackingURL.FindStringSubmatch(u)
		c, err := sg.Verify(m[2])
		if err != nil {
			t.Errorf("link %s: %v", u, err)
			return u
		}
		return "[" + c.Purpose.String() + " " + c.LedgerID + " " + c.URL + "]"
	})
}

// TestPreviewMatchesSend compares preview --json with the message a run
// delivers to the SMTP server: same subject, same List-Unsubscribe
// headers, same rewritten links (same ledger row and destination) and
// open pixel, same HTML and text once the signing time is left out.
func TestPreviewMatchesSend(t *testing.T) {
	dir := project(t)
	smtp := testenv.StartSMTP(t)
	c := proofCLI(t, dir, smtp)
	const file = "campaigns/printemps-2027.yaml"
	before := previewOf(t, c, file, "--contact", "C001")
	r := c.mustRun(context.Background(), "run", file, "--wait")
	if !strings.Contains(r.stdout, "5 to send") || smtp.Count() != 5 {
		t.Fatalf("run sent %d:\n%s", smtp.Count(), r.stdout)
	}
	var sent *parsedMail
	for _, m := range smtp.Messages() {
		if m.To[0] == "camille.durand@example.org" {
			pm := parseMail(t, m.Data)
			sent = &pm
		}
	}
	if sent == nil {
		t.Fatal("no message to camille.durand@example.org")
	}
	p := previewOf(t, c, file, "--contact", "C001")
	sg, err := tracking.SignerFromSecrets(proofSecret)
	if err != nil {
		t.Fatal(err)
	}
	if p.LedgerState != "accepted" || before.LedgerState != "" || before.LedgerID == p.LedgerID {
		t.Errorf("preview's row: before the run %q (%s), after %q (%s); want none, then the run's accepted row",
			before.LedgerID, before.LedgerState, p.LedgerID, p.LedgerState)
	}
	if p.Subject != sent.Subject {
		t.Errorf("subject: preview %q, sent %q", p.Subject, sent.Subject)
	}
	for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post"} {
		if got, want := untokened(t, sg, p.Headers[h]), untokened(t, sg, sent.Header.Get(h)); got != want || want == "" {
			t.Errorf("%s: preview %q, sent %q", h, got, want)
		}
	}
	clicks := regexp.MustCompile(`/c/`)
	if n := len(clicks.FindAllString(sent.HTML, -1)); n == 0 || n != len(clicks.FindAllString(p.HTML, -1)) {
		t.Errorf("rewritten links: sent %d, preview %d", n, len(clicks.FindAllString(p.HTML, -1)))
	}
	if got, want := untokened(t, sg, p.HTML), untokened(t, sg, sent.HTML); got != want {
		t.Errorf("HTML differs:\npreview: %s\nsent:    %s", got, want)
	}
	if got, want := strings.TrimSpace(untokened(t, sg, p.Text)), strings.TrimSpace(untokened(t, sg, sent.Text)); got != want {
		t.Errorf("text differs:\npreview: %s\nsent:    %s", got, want)
	}
	// Before the run, the preview has the same links on the row a run
	// would create (another run id, so another row id).
	if !strings.Contains(before.HTML, "/c/") || before.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("preview before the run lacks rewritten links or List-Unsubscribe: %v", before.Headers)
	}
}
