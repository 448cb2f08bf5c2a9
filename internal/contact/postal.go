package contact

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NormalizePostal returns the form of a postal address used for matching:
// country (default FR), postcode without spaces, then each non-empty
// delivery line, all upper-cased without accents or punctuation and with
// single spaces, joined by "|". "" when there is no postcode or no line.
func NormalizePostal(a Address) string {
	pc := strings.ReplaceAll(foldPostal(a.Postcode), " ", "")
	if pc == "" {
		return ""
	}
	country := foldPostal(a.Country)
	if country == "" {
		country = "FR"
	}
	parts := []string{country, pc}
	for _, l := range []string{a.Line1, a.Line2, a.Line3, a.Line4} {
		if f := foldPostal(l); f != "" {
			parts = append(parts, f)
		}
	}
	if len(parts) == 2 {
		return ""
	}
	return strings.Join(parts, "|")
}

// foldPostal upper-cases s, strips accents, turns punctuation into spaces
// and collapses spaces, so "12, rue de l'Église" and "12 RUE DE L EGLISE"
// match.
func foldPostal(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	mapped := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToUpper(r)
		}
		return ' '
	}, folded)
	return strings.Join(strings.Fields(mapped), " ")
}
