package contact

import (
	"strings"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// countryNames maps country names as French and English exports write
// them (folded: lower case, no accents, single spaces) to ISO 3166-1
// alpha-2 codes. Codes themselves ("FR", "fr", "FRA") are recognised
// through golang.org/x/text/language and need no entry here. The list
// covers the countries a French sender writes to most; others are kept as
// written and reported by the import.
var countryNames = map[string]string{
	"france": "FR", "republique francaise": "FR", "france metropolitaine": "FR",
	"belgique": "BE", "belgium": "BE", "belgie": "BE",
	"allemagne": "DE", "germany": "DE", "deutschland": "DE",
	"suisse": "CH", "switzerland": "CH", "schweiz": "CH", "svizzera": "CH",
	"espagne": "ES", "spain": "ES", "espana": "ES",
	"italie": "IT", "italy": "IT", "italia": "IT",
	"royaume-uni": "GB", "royaume uni": "GB", "united kingdom": "GB", "uk": "GB",
	"grande-bretagne": "GB", "grande bretagne": "GB", "great britain": "GB", "angleterre": "GB", "england": "GB",
	"luxembourg": "LU", "monaco": "MC", "andorre": "AD", "andorra": "AD",
	"pays-bas": "NL", "pays bas": "NL", "netherlands": "NL", "the netherlands": "NL", "hollande": "NL", "nederland": "NL",
	"portugal": "PT", "irlande": "IE", "ireland": "IE", "autriche": "AT", "austria": "AT",
	"danemark": "DK", "denmark": "DK", "suede": "SE", "sweden": "SE", "norvege": "NO", "norway": "NO",
	"finlande": "FI", "finland": "FI", "pologne": "PL", "poland": "PL", "grece": "GR", "greece": "GR",
	"etats-unis": "US", "etats unis": "US", "united states": "US", "usa": "US", "united states of america": "US",
	"canada": "CA", "maroc": "MA", "morocco": "MA", "algerie": "DZ", "algeria": "DZ",
	"tunisie": "TN", "tunisia": "TN", "senegal": "SN", "cote d'ivoire": "CI", "ivory coast": "CI",
	"japon": "JP", "japan": "JP", "chine": "CN", "china": "CN", "bresil": "BR", "brazil": "BR",
	"australie": "AU", "australia": "AU", "inde": "IN", "india": "IN", "mexique": "MX", "mexico": "MX",
	"reunion": "RE", "la reunion": "RE", "guadeloupe": "GP", "martinique": "MQ", "guyane": "GF",
	"mayotte": "YT", "nouvelle-caledonie": "NC", "polynesie francaise": "PF",
}

// NormalizeCountry returns the ISO 3166-1 alpha-2 code of s, a country
// code (alpha-2 or alpha-3, any case) or a name in French or English
// ("France", "FRANCE", "Belgique", "Deutschland", "United Kingdom"), and
// whether it was recognised. Postal formatting and the domestic postcode
// checks key on the code, so "France" left as written would print a
// country line on a domestic letter. An unrecognised value comes back
// upper-cased, as before.
func NormalizeCountry(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	folded := foldName(s)
	if code, ok := countryNames[folded]; ok {
		return code, true
	}
	if len(s) == 2 || len(s) == 3 {
		if r, err := language.ParseRegion(s); err == nil && r.IsCountry() {
			return r.String(), true
		}
	}
	return strings.ToUpper(s), false
}

// foldName lower-cases, strips accents and collapses spaces.
func foldName(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	out = strings.ReplaceAll(out, "’", "'")
	return strings.ToLower(strings.Join(strings.Fields(out), " "))
}

// FoldSpaces replaces every run of white space in s, line breaks and tabs
// included, by one space, and reports whether anything but leading and
// trailing spaces changed. Names end up in mail headers and address
// blocks, where a line break would start a new header or a new line.
func FoldSpaces(s string) (string, bool) {
	out := strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	return out, out != strings.TrimSpace(s)
}
