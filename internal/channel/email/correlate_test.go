package email

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// fakeCorrelator names the ledger in clear (the real one signs it).
type fakeCorrelator struct{}

func (fakeCorrelator) ReturnPath(ledgerID, fromDomain string) string {
	return "bounce+" + ledgerID + "@bounces." + fromDomain
}

func (fakeCorrelator) Headers(ledgerID string) map[string]string {
	return map[string]string{"X-Relais-Ledger": "tok-" + ledgerID}
}

// TestCorrelatorSetsEnvelopeSenderAndHeader: through SMTP the envelope
// sender (MAIL FROM) is the correlator's Return-Path and the ledger header
// is in the message; the outbox writes the Return-Path line a receiving
// server would add.
func TestCorrelatorSetsEnvelopeSenderAndHeader(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1, WithCorrelator(fakeCorrelator{}))
	if _, err := s.Send(t.Context(), testMessage("l1")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !srv.WaitFor(1, 5*time.Second) {
		t.Fatal("no message")
	}
	m := srv.Messages()[0]
	if m.From != "bounce+l1@bounces.shop.example" {
		t.Errorf("MAIL FROM %q", m.From)
	}
	if !bytes.Contains(m.Data, []byte("\r\nX-Relais-Ledger: tok-l1\r\n")) || bytes.Contains(m.Data, []byte("Return-Path")) {
		t.Errorf("headers:\n%s", m.Data)
	}

	dir := t.TempDir()
	o, err := NewOutboxWith(dir, WithCorrelator(fakeCorrelator{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Send(t.Context(), testMessage("l2")); err != nil {
		t.Fatalf("outbox Send: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "l2.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "Return-Path: <bounce+l2@bounces.shop.example>\r\n") || !strings.Contains(string(b), "X-Relais-Ledger: tok-l2\r\n") {
		t.Errorf("outbox file:\n%.400s", b)
	}
}
