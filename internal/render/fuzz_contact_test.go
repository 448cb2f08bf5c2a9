package render

import (
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// FuzzHostileContact renders the usual templates with hostile contact
// data (markup, template syntax, control and bidi characters, huge
// values): rendering never panics, never runs what the data contains,
// and an HTML template never lets the data's markup through.
func FuzzHostileContact(f *testing.F) {
	f.Add("Ana", "Durand", "Mme", "ana@example.org", "12 rue Mercière", "Lyon", "fr", "3")
	f.Add("<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "{{.Links.Unsubscribe}}", "a@b", "\u202e\x00", "\r\n", "xx-invalid", "NaN")
	f.Add(strings.Repeat("é", 5000), "{{range .}}{{end}}", "", "", "", "", "", "1e309")
	f.Add("javascript:alert(1)", "' OR 1=1 --", "Dr", "", "<!--", "]]>", "ar", "-0")
	text, err := Parse("t", Text, "Bonjour {{.Contact.Title}} {{.Contact.FirstName}} {{.Contact.LastName | upper}}, {{.Contact.Address.City}} {{.Contact.Attrs.n}}")
	if err != nil {
		f.Fatal(err)
	}
	html, err := Parse("h", HTML, `<p title="{{.Contact.LastName}}">Bonjour {{.Contact.FirstName}}</p><a href="{{.Contact.Attrs.n}}">x</a><address>{{.Contact.Address.Line1}}</address>`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, last, title, email, line1, city, locale, n string) {
		d := &Data{Contact: ContactData{FirstName: first, LastName: last, Title: title, Email: email, Locale: locale,
			Address: contact.Address{Line1: line1, City: city}, Attrs: map[string]any{"n": n}},
			Links: Links{Unsubscribe: "https://t.example/u/secret"}, Now: time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)}
		for _, tpl := range []*Template{text, html} {
			tpl.MaxOutput = 1 << 20
			tpl.Timeout = time.Second
		}
		out, err := text.Execute(d)
		if err == nil && strings.Contains(out, "https://t.example/u/secret") && !strings.Contains(first+last+title+city+n, "https://t.example/u/secret") {
			t.Fatalf("contact data was executed as a template: %q", out)
		}
		out, err = html.Execute(d)
		if err != nil {
			return
		}
		// The template's own markup has 6 tags and 2 quoted attributes:
		// any more means the data's markup got through unescaped.
		if strings.Count(out, "<") != 6 || strings.Count(out, ">") != 6 || strings.Count(out, `"`) != 4 {
			t.Fatalf("markup of the contact data reached the HTML unescaped: %q", out)
		}
	})
}
