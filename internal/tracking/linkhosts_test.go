package tracking

import (
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/render"
	"github.com/relais-dev/relais/internal/store"
)

// TestContactURLNotSigned checks a URL that reaches a message through a
// contact field is neither signed as a click link nor left clickable,
// while a link written in the template is, and an operator-allowed host
// from API data is too.
func TestContactURLNotSigned(t *testing.T) {
	l, err := NewLinks(newSigner(t, "a-secret-of-at-least-16-bytes"), "https://t.example.fr/")
	if err != nil {
		t.Fatal(err)
	}
	l.AllowedHosts = []string{"orders.dupont.example"}
	html, err := render.Parse("e.html", render.HTML, `<p>Bonjour {{.Contact.FirstName}}</p>`+
		`<a href="https://dupont.example/soldes">Soldes</a> <a href="{{.Contact.Attrs.site}}">Votre site</a>`+
		` <a href="{{.Data.order}}">Commande</a> <a href="https://dupont.example{{.Data.path}}">x</a>`)
	if err != nil {
		t.Fatal(err)
	}
	text, err := render.Parse("e.txt", render.Text, "Bonjour {{.Contact.FirstName}}, voir https://dupont.example/soldes\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(html.LinkHosts(), ","); got != "dupont.example" {
		t.Fatalf("LinkHosts = %q, want dupont.example only", got)
	}
	d := &render.Data{Contact: render.ContactData{FirstName: "https://evil.example/phish",
		Attrs: map[string]any{"site": "https://evil.example/a"}},
		Data: map[string]any{"order": "https://orders.dupont.example/o/1", "path": "@evil.example/x"}}
	m := &channel.Message{Channel: "email", LinkHosts: html.LinkHosts()}
	if m.HTML, err = html.Execute(d); err != nil {
		t.Fatal(err)
	}
	if m.Text, err = text.Execute(d); err != nil {
		t.Fatal(err)
	}
	l.Decorate(m, &store.LedgerRow{ID: "L1", RunID: 1, ContactID: 2, CampaignID: "c", StepID: "s", Channel: "email", Purpose: "marketing"}, false)

	if n := strings.Count(m.HTML, "/c/"); n != 2 {
		t.Errorf("HTML has %d click links, want 2 (the template's and the allowed order page):\n%s", n, m.HTML)
	}
	if strings.Contains(m.HTML, `href="https://evil.example`) || strings.Contains(m.HTML, `href="https://dupont.example@`) {
		t.Errorf("HTML keeps a clickable link from data:\n%s", m.HTML)
	}
	if n := strings.Count(m.Text, "/c/"); n != 1 || !strings.Contains(m.Text, "Bonjour https://evil.example/phish,") {
		t.Errorf("text: %d click links, want 1 and the name left as written:\n%s", n, m.Text)
	}
	for _, u := range l.signedURLs(t, m.HTML+m.Text) {
		if strings.Contains(u, "evil.example") {
			t.Errorf("signed a click to %s", u)
		}
	}
}

// signedURLs returns the destinations of the /c/ links in s.
func (l *Links) signedURLs(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(s, l.base+"/c/")[1:] {
		tok := part[:strings.IndexAny(part+" \"\n<", " \"\n<")]
		c, err := l.signer.Verify(tok)
		if err != nil {
			t.Fatalf("click token: %v", err)
		}
		out = append(out, c.URL)
	}
	return out
}
