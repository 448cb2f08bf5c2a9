package email

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/testenv"
)

const (
	testSubject = "Offre d'été — 20 % pour vous 🎉"
	testPDF     = "%PDF-1.4\n% fake but binary \x00\x01\x02 content\n"
)

// testMessage is a marketing message with every feature Build handles.
func testMessage(ledger string) *channel.Message {
	return &channel.Message{
		LedgerID: ledger,
		Campaign: "summer",
		Step:     "first",
		Channel:  emailch.Name,
		Purpose:  "marketing",
		From:     `"Boutique Élise" <news@Shop.example>`,
		To:       "alice@example.org",
		ToName:   "Alice Dupont-Ñúñez",
		Subject:  testSubject,
		Text:     "Bonjour Alice,\nVotre offre d'été vous attend.\n",
		HTML:     "<p>Bonjour <b>Alice</b>,</p><p>Votre offre d'été vous attend.</p>",
		Attachments: []channel.Attachment{
			{Name: "bon-de-commande.pdf", Data: []byte(testPDF)},
		},
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://relais.example/u/tok123>, <mailto:unsub@shop.example?subject=tok123>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"x-relais-ledger":       ledger,
		},
	}
}

// newTestSender returns a Sender for srv, closed on cleanup.
func newTestSender(t testing.TB, srv *testenv.SMTPServer, pool int, opts ...Option) *Sender {
	t.Helper()
	cfg, err := ParseURL(srv.URL())
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	cfg.Pool = pool
	s, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// parsedMail is what a recipient's client would see.
type parsedMail struct {
	header      netmail.Header
	subject     string
	text, html  string
	attachName  string
	attachType  string
	attachData  []byte
	structure   []string // media types in walk order
	attachCount int
}

// parseMail walks raw as a MIME tree, failing t on anything malformed.
func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	var p parsedMail
	p.header = msg.Header
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	walkPart(t, &p, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body)
	return p
}

func walkPart(t *testing.T, p *parsedMail, contentType, cte, disposition string, body io.Reader) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	p.structure = append(p.structure, mt)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("next part of %s: %v", mt, err)
			}
			walkPart(t, p, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				part.Header.Get("Content-Disposition"), part)
		}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read %s: %v", mt, err)
	}
	if strings.EqualFold(cte, "base64") {
		if data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), "")); err != nil {
			t.Fatalf("base64 %s: %v", mt, err)
		}
	}
	disp, dparams, _ := mime.ParseMediaType(disposition)
	switch {
	case disp == "attachment":
		p.attachCount++
		p.attachName, p.attachType, p.attachData = dparams["filename"], mt, data
	case mt == "text/plain":
		p.text = string(data)
	case mt == "text/html":
		p.html = string(data)
	}
}

// checkTestMessage asserts that raw is testMessage as sent to a recipient.
func checkTestMessage(t *testing.T, raw []byte, providerID string) parsedMail {
	t.Helper()
	p := parseMail(t, raw)
	if p.subject != testSubject {
		t.Errorf("subject = %q, want %q", p.subject, testSubject)
	}
	from, err := p.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Boutique Élise" || from[0].Address != "news@Shop.example" {
		t.Errorf("From = %v (%v)", from, err)
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Alice Dupont-Ñúñez" || to[0].Address != "alice@example.org" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if got := p.header.Get("Message-Id"); got != "<"+providerID+">" {
		t.Errorf("Message-ID = %q, want <%s>", got, providerID)
	}
	if !strings.HasSuffix(providerID, "@shop.example") || len(providerID) != 36+len("@shop.example") {
		t.Errorf("Message-ID %q is not <uuid@shop.example>", providerID)
	}
	if _, err := p.header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if got := p.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	if got := p.header.Get("List-Unsubscribe"); !strings.Contains(got, "<https://relais.example/u/tok123>") {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if got := p.header.Get("X-Relais-Ledger"); got == "" {
		t.Error("X-Relais-Ledger missing")
	}
	want := []string{"multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"}
	if strings.Join(p.structure, ",") != strings.Join(want, ",") {
		t.Errorf("MIME structure = %v, want %v", p.structure, want)
	}
	if !strings.Contains(p.text, "Votre offre d'été vous attend.") {
		t.Errorf("text part = %q", p.text)
	}
	if !strings.Contains(p.html, "<b>Alice</b>") {
		t.Errorf("html part = %q", p.html)
	}
	if p.attachCount != 1 || p.attachName != "bon-de-commande.pdf" || string(p.attachData) != testPDF {
		t.Errorf("attachment = %d %q %q", p.attachCount, p.attachName, p.attachData)
	}
	return p
}
