package compose_test

import (
	"testing"
	"time"

	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/testenv"
)

// BenchmarkCompose measures composing one newsletter email (subject, HTML
// and text templates) for one contact.
func BenchmarkCompose(b *testing.B) {
	sp := load(b, "news", map[string]string{
		"campaigns/news.yaml": `id: news
channels: [email]
sender:
  email: "Maison Dupont <news@dupont.example>"
steps:
  - id: annonce
    email:
      subject: "{{.Contact.FirstName}}, le printemps arrive chez Maison Dupont"
      html: templates/email.html
      text: templates/email.txt
`,
		"templates/email.html": testenv.NewsletterHTML,
		"templates/email.txt":  testenv.NewsletterText,
	})
	c := &contact.Contact{FirstName: "Camille", LastName: "Durand", Email: "camille@example.org", Locale: "fr-FR",
		Address: contact.Address{City: "Lyon"}, Attrs: map[string]any{"orders_12m": 12}}
	in := compose.Input{Spec: sp, Step: &sp.Steps[0], Channel: emailch.Name, LedgerID: "l1", Contact: c, Now: time.Now(),
		Links: compose.Links{Unsubscribe: "https://t.example.fr/u/AQQ3ZTE1AgMoNzFkYTU3NzQ0ZTk0MTk1ZWQwMzBlNDk3ZmY1NzE0YjQGmgECYzECczEFZW1haWyAyKrBBg",
			View:    "https://t.example.fr/v/AQQ3ZTE1AgMoNzFkYTU3NzQ0ZTk0MTk1ZWQwMzBlNDk3ZmY1NzE0YjQGmgECYzECczEFZW1haWyAyKrBBg",
			Headers: map[string]string{"List-Unsubscribe": "<https://t.example.fr/u/x>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}}
	comp := compose.NewComposer()
	if _, err := comp.Compose(in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := comp.Compose(in); err != nil {
			b.Fatal(err)
		}
	}
}
