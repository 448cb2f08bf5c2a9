// Package postal writes French postal addresses to NF Z10-011 and holds
// the letter layout (sheet, margins, envelope window) that configuration
// declares. It is pure — no PDF library — so planning, policy callers and
// configuration can check an address or a layout without linking the
// print renderer.
package postal

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// Limits of the French postal address standard NF Z10-011, which La Poste's
// sorting machines rely on: more lines or longer lines are not read.
const (
	MaxAddressLines = 6
	MaxLineChars    = 38
)

// ReasonInvalidAddress is the refusal reason recorded when a contact's postal
// address cannot be written as a conforming block without losing information.
const ReasonInvalidAddress = "invalid_address"

// RefusalError is a permanent refusal with a machine-readable reason; it
// wraps channel.ErrPermanent so the worker does not retry it. Detail never
// holds personal data (it names line numbers and lengths, not contents).
type RefusalError struct {
	Reason string // e.g. ReasonInvalidAddress
	Detail string
}

// Error implements error.
func (e *RefusalError) Error() string {
	return e.Reason + ": " + e.Detail + ": " + channel.ErrPermanent.Error()
}

// Unwrap makes errors.Is(err, channel.ErrPermanent) true.
func (e *RefusalError) Unwrap() error { return channel.ErrPermanent }

// InvalidAddress returns the *RefusalError of an address that cannot be
// written; print uses it too, for a block that does not fit the window.
func InvalidAddress(format string, args ...any) error {
	return &RefusalError{Reason: ReasonInvalidAddress, Detail: fmt.Sprintf(format, args...)}
}

// abbreviations are La Poste's standard abbreviations, tried only when a
// line is too long: the standard prefers full words when they fit.
var abbreviations = map[string]string{
	"ALLEE": "ALL", "APPARTEMENT": "APT", "AVENUE": "AV", "BATIMENT": "BAT",
	"BOULEVARD": "BD", "BOITE": "BTE", "CHEMIN": "CHE", "CHAUSSEE": "CHS",
	"COURS": "CRS", "DOCTEUR": "DR", "ESCALIER": "ESC", "FAUBOURG": "FG",
	"GENERAL": "GAL", "GRANDE": "GDE", "HAMEAU": "HAM", "IMMEUBLE": "IMM",
	"IMPASSE": "IMP", "LOTISSEMENT": "LOT", "MARECHAL": "MAL", "MONSIEUR": "M",
	"MADAME": "MME", "MADEMOISELLE": "MLLE", "PLACE": "PL", "PRESIDENT": "PDT",
	"PROFESSEUR": "PR", "PROMENADE": "PROM", "QUARTIER": "QUA", "RESIDENCE": "RES",
	"ROUTE": "RTE", "SAINT": "ST", "SAINTE": "STE", "SQUARE": "SQ",
	"ZONE": "Z", "INDUSTRIELLE": "I", "ARTISANALE": "A", "CENTRE": "CTRE",
	"COMMERCIAL": "CIAL", "ETAGE": "ETG", "ENTREE": "ENT", "LIEU-DIT": "LD",
	"ATTENTION": "ATT", "SERVICE": "SCE",
}

// countryNames are the French names La Poste expects on the last line of
// an international address; other codes are written as given.
var countryNames = map[string]string{
	"BE": "BELGIQUE", "CH": "SUISSE", "LU": "LUXEMBOURG", "DE": "ALLEMAGNE",
	"ES": "ESPAGNE", "IT": "ITALIE", "GB": "ROYAUME UNI", "UK": "ROYAUME UNI",
	"US": "ETATS UNIS", "CA": "CANADA", "NL": "PAYS BAS", "PT": "PORTUGAL",
	"MC": "MONACO", "AT": "AUTRICHE", "IE": "IRLANDE", "PL": "POLOGNE",
}

// Address formats c's postal address as an NF Z10-011 block: at most 6
// lines of at most 38 characters; line 1 the recipient (title, first and
// last name; for a business the company, then "A l'attention de" the
// person), then the delivery lines, then "POSTCODE TOWN" in capitals
// without accents or punctuation, then the country in capitals outside
// France. Lines 4–6 of a full block (in a shorter one: the street line and
// those below it) are written in capitals without accents or punctuation,
// as La Poste's OCR expects. Overlong lines get La Poste's
// abbreviations; a block that still does not fit, or lacks a name, postcode
// or town, is refused with a *RefusalError (ReasonInvalidAddress, wrapping
// channel.ErrPermanent) rather than truncated, because a truncated address
// is a lost letter that is still paid for.
func Address(c *contact.Contact) ([]string, error) {
	if c == nil {
		return nil, InvalidAddress("no contact")
	}
	recipient := recipientLines(c)
	if len(recipient) == 0 {
		return nil, InvalidAddress("no recipient name or company")
	}
	a := c.Address
	country := strings.ToUpper(strings.TrimSpace(a.Country))
	if country == "" {
		country = "FR"
	}
	postcode := strings.Join(strings.Fields(a.Postcode), "")
	city := strings.TrimSpace(a.City)
	if city == "" {
		return nil, InvalidAddress("no town")
	}
	if country == "FR" && !isFrenchPostcode(postcode) {
		return nil, InvalidAddress("postcode is not 5 digits")
	}
	var delivery []string
	for _, l := range []string{a.Line1, a.Line2, a.Line3, a.Line4} {
		if l = collapse(l); l != "" {
			delivery = append(delivery, l)
		}
	}
	if len(delivery) == 0 {
		return nil, InvalidAddress("no delivery line")
	}
	delivery = append(delivery, strings.TrimSpace(postcode+" "+city))
	if country != "FR" {
		name, ok := countryNames[country]
		if !ok {
			name = country
		}
		delivery = append(delivery, name)
	}
	lines := append(recipient, delivery...)
	// Sorting machines read lines 4–6 of a full block; in a shorter block
	// they are the street (or BP / lieu-dit) line and what follows it.
	town := len(recipient) + len(delivery) - 1
	if country != "FR" {
		town--
	}
	kept := lines[:0]
	for i, l := range lines {
		if i >= 3 && i >= len(recipient) || i >= town-1 && i >= len(recipient) {
			l = machineLine(l)
		}
		if strings.TrimSpace(l) == "" {
			// Nothing a sorting machine can read is left (punctuation
			// only): a delivery line is dropped, the town line is missing.
			if i == town {
				return nil, InvalidAddress("no town a sorting machine can read")
			}
			continue
		}
		kept = append(kept, l)
	}
	lines = kept
	if len(lines) > MaxAddressLines {
		return nil, InvalidAddress("%d lines (max %d)", len(lines), MaxAddressLines)
	}
	for i, l := range lines {
		if utf8.RuneCountInString(l) <= MaxLineChars {
			continue
		}
		short := abbreviate(l)
		if n := utf8.RuneCountInString(short); n > MaxLineChars {
			return nil, InvalidAddress("line %d has %d characters after abbreviation (max %d)", i+1, n, MaxLineChars)
		}
		lines[i] = short
	}
	return lines, nil
}

// recipientLines returns line 1 (and line 2 for a business with a person).
func recipientLines(c *contact.Contact) []string {
	person := collapse(strings.Join([]string{FormalTitle(c.Title), c.FirstName, c.LastName}, " "))
	if c.FirstName == "" && c.LastName == "" {
		person = ""
	}
	company := collapse(c.Company)
	switch {
	case c.Kind == contact.KindBusiness && company != "" && person != "":
		att := "A l'attention de " + person
		if utf8.RuneCountInString(att) > MaxLineChars {
			att = person // the person alone still routes the letter inside the company
		}
		return []string{company, att}
	case person != "":
		return []string{person}
	case company != "":
		return []string{company}
	}
	return nil
}

// FormalTitle expands the usual abbreviations of a title ("M.", "Mme",
// "Mr", "Mrs") to the French word used in addresses and salutations, and
// returns "" for an unknown or empty title.
func FormalTitle(t string) string {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(t), ".")) {
	case "m", "mr", "monsieur", "m.", "sir":
		return "Monsieur"
	case "mme", "mrs", "ms", "madame", "mlle", "mademoiselle", "miss":
		return "Madame"
	case "":
		return ""
	}
	return strings.TrimSpace(t)
}

func isFrenchPostcode(p string) bool {
	if len(p) != 5 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// collapse trims s and folds runs of white space into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// machineLine writes s in capitals without accents and replaces every
// punctuation mark by a space, as La Poste's OCR expects on lines 4–6.
func machineLine(s string) string {
	s = Unaccent(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			r = ' '
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return collapse(b.String())
}

// ligatures are letters NFD does not decompose.
var ligatures = strings.NewReplacer("œ", "oe", "Œ", "OE", "æ", "ae", "Æ", "AE", "ß", "ss", "ø", "o", "Ø", "O", "ł", "l", "Ł", "L", "đ", "d", "Đ", "D")

// Unaccent removes diacritics ("Rhône" → "Rhone", "Œuvre" → "OEuvre").
func Unaccent(s string) string {
	s = ligatures.Replace(norm.NFD.String(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// abbreviate replaces the words of l that have a standard abbreviation,
// keeping the line's case style.
func abbreviate(l string) string {
	words := strings.Fields(l)
	upper := l == strings.ToUpper(l)
	for i, w := range words {
		key := strings.ToUpper(Unaccent(strings.Trim(w, ",.")))
		ab, ok := abbreviations[key]
		if !ok {
			continue
		}
		if !upper {
			ab = ab[:1] + strings.ToLower(ab[1:])
		}
		words[i] = ab
	}
	return strings.Join(words, " ")
}

// ReasonCode implements channel.Reasoner.
func (e *RefusalError) ReasonCode() string { return e.Reason }
