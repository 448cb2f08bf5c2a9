package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestProofSMS sends the SMS proof of one recipient to a reviewer's
// number through the Twilio double: one message to the reviewer, marked
// [BAT] with the real recipient's name, with the campaign's text; the
// email reviewer gets nothing (no email in this step).
func TestProofSMS(t *testing.T) {
	twProject(t)
	smtp := testenv.StartSMTP(t)
	tw := testenv.StartTwilio(t)
	c := &cli{t: t, env: map[string]string{
		"RELAIS_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "relais.db"),
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       proofSecret,
		"RELAIS_LOG_LEVEL":    "error",
		"TWILIO_ACCOUNT_SID":  tw.AccountSID,
		"TWILIO_AUTH_TOKEN":   tw.AuthToken,
		"TWILIO_API_BASE_URL": tw.URL,
	}}
	c.mustRun(context.Background(), "proof", e2eSoldesFile, "--step", "texto", "--contact", "A1", "--to", "+33 6 99 00 00 01,bat@dupont.example")
	var sent []*testenv.TwilioMessage
	for _, r := range tw.Requests() {
		if r.Method == "POST" {
			sent = append(sent, &testenv.TwilioMessage{To: r.Form.Get("To"), Body: r.Form.Get("Body")})
		}
	}
	if len(sent) != 1 {
		t.Fatalf("Twilio got %d messages, want 1", len(sent))
	}
	if sent[0].To != "+33699000001" || !strings.HasPrefix(sent[0].Body, "[BAT] Alice") ||
		!strings.Contains(sent[0].Body, "Alice, -20% ce week-end chez Dupont. STOP au 36180") {
		t.Errorf("SMS proof to %s: %q", sent[0].To, sent[0].Body)
	}
	if smtp.Count() != 0 {
		t.Errorf("SMTP got %d messages for an SMS step's proof, want 0", smtp.Count())
	}
}

// TestProofLetter writes the proof of a letter as a PDF into --out and
// mails it, attached, to the email reviewer.
func TestProofLetter(t *testing.T) {
	dir := project(t)
	for p, s := range map[string]string{
		"campaigns/courrier.yaml": `id: courrier
purpose: marketing
audience: { source: file, file: samples/postal.csv }
channels: [print]
sender:
  email: "Maison Dupont <news@dupont.example>"
  postal: { name: Maison Dupont, lines: ["12 rue des Lilas", "69003 LYON"] }
steps:
  - id: lettre
    print: { letter: templates/lettre.md, subject: "Bienvenue dans le quartier" }
`,
		"templates/lettre.md": "Bonjour {{.Contact.FirstName}}, nous sommes voisins.\n",
		"samples/postal.csv": "external_id;first_name;last_name;address_line1;postcode;city;kind\n" +
			"P1;Camille;Durand;3 rue Paul Bert;69003;Lyon;person\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	smtp := testenv.StartSMTP(t)
	c := proofCLI(t, dir, smtp)
	out := t.TempDir()
	c.mustRun(context.Background(), "proof", "campaigns/courrier.yaml", "--to", "bat@dupont.example", "--out", out)
	pdfs, _ := filepath.Glob(filepath.Join(out, "*.pdf"))
	if len(pdfs) != 1 {
		t.Fatalf("--out holds %d PDF(s), want 1", len(pdfs))
	}
	if b, err := os.ReadFile(pdfs[0]); err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("%s is not a PDF (%v)", pdfs[0], err)
	}
	if !smtp.WaitFor(1, 10*time.Second) || smtp.Count() != 1 {
		t.Fatalf("SMTP got %d messages, want the letter's proof", smtp.Count())
	}
	m := parseMail(t, smtp.Messages()[0].Data)
	if !strings.HasPrefix(m.Subject, "[BAT] ") || len(m.Attachments) != 1 || m.Attachments[0] != filepath.Base(pdfs[0]) ||
		!strings.Contains(m.Text, "message of Camille Durand (P1)") {
		t.Errorf("letter proof mail: subject %q, attachments %v, text %q", m.Subject, m.Attachments, m.Text)
	}
	if st := c.mustRun(context.Background(), "status", "--json").stdout; strings.TrimSpace(st) != "[]" {
		t.Errorf("letter proofs made runs: %s", st)
	}
}
