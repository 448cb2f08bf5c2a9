package print

import (
	"testing"

	"github.com/relais-dev/relais/internal/contact"
)

func TestSalutationAndDate(t *testing.T) {
	tests := []struct {
		name string
		c    contact.Contact
		want string
	}{
		{name: "madame", c: contact.Contact{Title: "Mme", LastName: "Dupont"}, want: "Madame Dupont,"},
		{name: "monsieur", c: contact.Contact{Title: "M.", LastName: "Martin"}, want: "Monsieur Martin,"},
		{name: "unknown title", c: contact.Contact{LastName: "Martin"}, want: "Madame, Monsieur,"},
		{name: "english", c: contact.Contact{Title: "Mrs", LastName: "Lee", Locale: "en-GB"}, want: "Dear Ms Lee,"},
		{name: "english unknown", c: contact.Contact{Locale: "en"}, want: "Dear Sir or Madam,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Salutation(&tt.c); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
	dates := []struct {
		name, place, locale, want string
		day                       int
	}{
		{name: "french", place: "Lyon", locale: "fr-FR", day: 20, want: "Lyon, le 20 mars 2027"},
		{name: "french first", place: "Lyon", locale: "", day: 1, want: "Lyon, le 1er mars 2027"},
		{name: "english", place: "Lyon", locale: "en", day: 20, want: "Lyon, 20 March 2027"},
		{name: "no place", place: "", locale: "fr", day: 20, want: "Le 20 mars 2027"},
	}
	for _, tt := range dates {
		t.Run(tt.name, func(t *testing.T) {
			d := testDate.AddDate(0, 0, tt.day-20)
			if got := FormatDate(tt.place, d, tt.locale); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
}

func TestParseBody(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		blocks  int
		ps      int
		bullets int
		styles  string
	}{
		{name: "paragraphs joined", in: "a\nb\n\nc", blocks: 2, styles: ""},
		{name: "bullets", in: "intro\n- one\n- two", blocks: 3, bullets: 2},
		{name: "bold italic", in: "x **b** *i*", blocks: 1, styles: "BI"},
		{name: "postscript", in: "body\n\nP.S. later", blocks: 1, ps: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := parseBody(tt.in)
			if len(b.Blocks) != tt.blocks || len(b.PS) != tt.ps {
				t.Fatalf("blocks %d ps %d, want %d %d", len(b.Blocks), len(b.PS), tt.blocks, tt.ps)
			}
			bullets, styles := 0, ""
			for _, bl := range b.Blocks {
				if bl.Bullet {
					bullets++
				}
				for _, r := range bl.Runs {
					styles += r.Style
				}
			}
			if bullets != tt.bullets || styles != tt.styles {
				t.Fatalf("bullets %d styles %q, want %d %q", bullets, styles, tt.bullets, tt.styles)
			}
		})
	}
	if got := plain(parseBody("a\nb").Blocks[0].Runs); got != "a b" {
		t.Fatalf("joined paragraph = %q", got)
	}
}
