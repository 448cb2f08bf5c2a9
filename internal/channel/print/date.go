package print

import (
	"fmt"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/postal"
)

// A4 sheet in millimetres (postal.Layout supports no other paper).
const (
	pageW = postal.PageWidth
	pageH = postal.PageHeight
)

var frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// isEnglish reports whether a contact locale asks for English; every other
// locale (and none) gets French, the product's home language.
func isEnglish(locale string) bool {
	return strings.HasPrefix(strings.ToLower(locale), "en")
}

// FormatDate writes the place and date line of a letter in the recipient's
// language: "Lyon, le 20 mars 2027" (French, "1er" for the first day) or
// "Lyon, 20 March 2027" (English). An empty place gives the date alone.
func FormatDate(place string, t time.Time, locale string) string {
	var d string
	if isEnglish(locale) {
		d = fmt.Sprintf("%d %s %d", t.Day(), t.Month(), t.Year())
	} else {
		day := fmt.Sprint(t.Day())
		if t.Day() == 1 {
			day = "1er"
		}
		d = fmt.Sprintf("le %s %s %d", day, frenchMonths[t.Month()-1], t.Year())
	}
	if place == "" {
		if isEnglish(locale) {
			return d
		}
		return strings.ToUpper(d[:1]) + d[1:]
	}
	return place + ", " + d
}
