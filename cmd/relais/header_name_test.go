package main

import (
	"context"
	"mime"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestLineBreakInNameStillSends: a French spreadsheet export (';',
// Windows-1252) whose first name holds a CR/LF and a would-be header is
// imported with a warning, and the person still gets the email through a
// real SMTP server: To and Subject decode to the name with a space, and no
// header was injected.
func TestLineBreakInNameStillSends(t *testing.T) {
	project(t)
	b, err := os.ReadFile("samples/clients.csv")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "C001;Mme;Camille;", "C001;Mme;\"Camille\r\nBcc: evil@example.net\";", 1)
	if src == string(b) {
		t.Fatal("C001 not found in the sample")
	}
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\x00"), "\n", "\r\n")
	src = strings.ReplaceAll(src, "\x00", "\r\n")
	cp1252, err := charmap.Windows1252.NewEncoder().String(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("samples/clients.csv", []byte(cp1252), 0o644); err != nil {
		t.Fatal(err)
	}
	smtp := testenv.StartSMTP(t)
	c := &cli{t: t, env: map[string]string{"RELAIS_SMTP_URL": smtp.URL(), "RELAIS_SECRET": "test-secret-0123456789abcdef"}}
	ctx := context.Background()
	imp := c.mustRun(ctx, "contacts", "import", "samples/clients.csv")
	if !strings.Contains(imp.stderr, "samples/clients.csv:2: first_name: line breaks") || strings.Contains(imp.stdout, "line breaks") {
		t.Errorf("import: the folded name is not reported on stderr:\nstdout:\n%s\nstderr:\n%s", imp.stdout, imp.stderr)
	}
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	if !smtp.WaitFor(len(wantRecipients), 10*time.Second) {
		t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients))
	}
	const name = "Camille Bcc: evil@example.net"
	found := false
	for _, m := range smtp.Messages() {
		if len(m.To) != 1 || m.To[0] == "evil@example.net" {
			t.Fatalf("envelope recipients %v", m.To)
		}
		if m.To[0] != "camille.durand@example.org" {
			continue
		}
		found = true
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Bcc") != "" {
			t.Errorf("a Bcc header was injected")
		}
		to, err := mail.ParseAddress(msg.Header.Get("To"))
		if err != nil || to.Name != name+" Durand" || to.Address != "camille.durand@example.org" {
			t.Errorf("To %q: %+v %v", msg.Header.Get("To"), to, err)
		}
		var dec mime.WordDecoder
		subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || !strings.HasPrefix(subj, name+", le printemps arrive") {
			t.Errorf("Subject %q decodes to %q (%v)", msg.Header.Get("Subject"), subj, err)
		}
	}
	if !found {
		t.Error("no email for the contact with a line break in the name")
	}
}
