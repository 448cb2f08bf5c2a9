package postal_test

import (
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/postal"
)

// FuzzAddress formats hostile contact data: it never panics, and a block
// it accepts has at most 6 lines of at most 38 characters, none empty and
// none breaking a line.
func FuzzAddress(f *testing.F) {
	f.Add("Mme", "Camille", "Durand", "", "12 rue Mercière", "", "69002", "Lyon", "")
	f.Add("", "", "", "Atelier Garnier", "Bâtiment B\r\nEscalier 3", "ZI des Iles", "75001", "Paris", "France")
	f.Add("M.", "Jean-Édouard", strings.Repeat("x", 80), "", "BP 12", "", "97600", "Mamoudzou", "Mayotte")
	f.Add("Dr", "\u202e", "\x00", "", "", "", "", "", "Deutschland")
	f.Fuzz(func(t *testing.T, title, first, last, company, line1, line2, postcode, city, country string) {
		c := &contact.Contact{Title: title, FirstName: first, LastName: last, Company: company,
			Address: contact.Address{Line1: line1, Line2: line2, Postcode: postcode, City: city, Country: country}}
		lines, err := postal.Address(c)
		if err != nil {
			return
		}
		if len(lines) == 0 || len(lines) > 6 {
			t.Fatalf("%d lines: %q", len(lines), lines)
		}
		for _, l := range lines {
			if strings.TrimSpace(l) == "" || strings.ContainsAny(l, "\r\n") || len([]rune(l)) > 38 {
				t.Fatalf("bad line %q in %q", l, lines)
			}
		}
	})
}
