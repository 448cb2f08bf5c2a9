package proof

import (
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

func TestMarkEmail(t *testing.T) {
	m := &channel.Message{Channel: "email", LedgerID: "row", To: "camille@example.org", ToName: "Camille", Subject: "Le printemps",
		HTML: `<html><BODY class="x"><p>Bonjour</p></body></html>`, Text: "Bonjour",
		Headers: map[string]string{"List-Unsubscribe": "<https://x/u/t>"}}
	b := Banner{Campaign: "printemps", Version: "0123456789abcdef", Step: "annonce",
		Recipient: RecipientOf(&contact.Contact{FirstName: "Camille", LastName: "Durand", Email: "camille@example.org", ExternalID: "C001"})}
	Mark(m, b, "proof1", "bat@dupont.example")
	want := "BAT (proof) — message of Camille Durand <camille@example.org> (C001) — campaign printemps version 0123456789ab, step annonce — links are inactive in proofs"
	if b.Text() != want {
		t.Errorf("banner %q, want %q", b.Text(), want)
	}
	if m.Subject != "[BAT] Le printemps" || m.To != "bat@dupont.example" || m.ToName != "" || m.LedgerID != "proof1" || m.Headers != nil {
		t.Errorf("marked message: subject %q to %q name %q id %q headers %v", m.Subject, m.To, m.ToName, m.LedgerID, m.Headers)
	}
	if !strings.HasPrefix(m.HTML, `<html><BODY class="x"><div `) || !strings.Contains(m.HTML, "Camille Durand &lt;camille@example.org&gt; (C001)") ||
		!strings.HasSuffix(m.HTML, `</div><p>Bonjour</p></body></html>`) {
		t.Errorf("HTML banner not right after <body>: %s", m.HTML)
	}
	if m.Text != want+"\n\nBonjour" {
		t.Errorf("text %q", m.Text)
	}
}

func TestMarkSMSAndLetter(t *testing.T) {
	b := Banner{Campaign: "soldes", Version: "abcdef0123456789", Step: "texto", Recipient: "Alice +33612000001 (A1)"}
	sms := &channel.Message{Channel: "sms", To: "+33612000001", Text: "Alice, -20% ce week-end"}
	Mark(sms, b, "p2", "+33699000001")
	if sms.To != "+33699000001" || sms.Subject != "" || sms.Text != "[BAT] Alice +33612000001 (A1), soldes abcdef012345:\nAlice, -20% ce week-end" {
		t.Errorf("SMS proof: to %q subject %q text %q", sms.To, sms.Subject, sms.Text)
	}
	letter := &channel.Message{Channel: "print", Subject: "Bienvenue", Text: "Bonjour", Contact: &contact.Contact{FirstName: "Alice"}}
	Mark(letter, b, "p3", "")
	if letter.Subject != "[BAT] Bienvenue" || !strings.HasPrefix(letter.Text, "BAT (proof) — message of Alice") || letter.Contact.FirstName != "Alice" {
		t.Errorf("letter proof: subject %q text %q", letter.Subject, letter.Text)
	}
}
