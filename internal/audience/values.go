package audience

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Attribute value types a mapping may ask for (Rule.Type).
const (
	TypeAuto   = ""       // number when the cell parses as one, else string
	TypeString = "string" // kept verbatim (codes with leading zeros, ids)
	TypeNumber = "number" // int when integral, float64 otherwise; anything else is a row error
	TypeDate   = "date"   // parsed with Rule.Format, stored as "2006-01-02"
	TypeBool   = "bool"   // yes/no, oui/non, 1/0, true/false
)

// DateLayout is how date attributes are stored: ISO 8601 dates survive a
// round trip through the store's JSON attributes and compare correctly as
// strings in expressions (attrs.last_order >= "2026-01-01").
const DateLayout = "2006-01-02"

var (
	errNotNumber  = errors.New("not a number")
	errNotConsent = errors.New("not a yes/no value (yes/no, oui/non, 1/0, true/false)")
)

// parseNumber reads the numbers French spreadsheets export: "12", "-3",
// "1234,56", "1234.56", "1 234,56" (space, no-break or narrow no-break
// space between groups of three). Integers come back as int, decimals as
// float64. A number written with a leading zero ("007", "06…") is refused
// so codes and phone-like values are never silently changed into numbers.
func parseNumber(s string) (any, bool) {
	if s == "" || len(s) > 64 {
		return nil, false
	}
	var b [64]byte
	n := 0
	i := 0
	if s[0] == '-' || s[0] == '+' {
		if s[0] == '-' {
			b[n] = '-'
			n++
		}
		i++
	}
	intStart := n
	group := -1 // digits since the last group separator, -1 before any separator
	digits := 0
	decimal := false
	for i < len(s) {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			b[n] = ch
			n++
			digits++
			if group >= 0 && !decimal {
				group++
			}
			i++
		case !decimal && (ch == ' ' || strings.HasPrefix(s[i:], "\u00a0") || strings.HasPrefix(s[i:], "\u202f")):
			// A thousands separator: needs 1–3 digits before the first one and
			// exactly three between two of them.
			if digits == 0 || (group < 0 && digits > 3) || (group >= 0 && group != 3) {
				return nil, false
			}
			group = 0
			if ch == ' ' {
				i++
			} else if s[i] == 0xc2 {
				i += 2
			} else {
				i += 3
			}
		case (ch == ',' || ch == '.') && !decimal:
			if digits == 0 || (group >= 0 && group != 3) {
				return nil, false
			}
			decimal = true
			b[n] = '.'
			n++
			i++
			if i == len(s) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if digits == 0 || (group >= 0 && !decimal && group != 3) {
		return nil, false
	}
	num := string(b[:n])
	if b[intStart] == '0' && n > intStart+1 && b[intStart+1] != '.' {
		return nil, false // leading zero: a code, not a quantity
	}
	if !decimal {
		if v, err := strconv.Atoi(num); err == nil {
			return v, true
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, false
	}
	return f, true
}

// parseConsent reads a consent cell. Empty means unknown (nil, no error);
// values are matched case-insensitively and without accents so "Oui",
// "NON" or "Vrai" all work. Anything else is an error: guessing consent is
// not allowed.
func parseConsent(s string) (*bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var v bool
	switch foldAccents(strings.ToLower(s)) {
	case "yes", "y", "oui", "o", "1", "true", "vrai", "x":
		v = true
	case "no", "n", "non", "0", "false", "faux":
		v = false
	default:
		return nil, errNotConsent
	}
	return &v, nil
}

// foldAccents drops the diacritics French spreadsheets commonly carry, for
// matching only.
func foldAccents(s string) string {
	if isASCII(s) {
		return s
	}
	return accentFolder.Replace(s)
}

var accentFolder = strings.NewReplacer(
	"é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "ä", "a",
	"î", "i", "ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c",
)

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// convert turns a trimmed, non-empty cell into an attribute value of type
// typ. format is the date layout for TypeDate (default DateLayout).
func convert(s, typ, format string) (any, error) {
	switch typ {
	case TypeAuto:
		if v, ok := parseNumber(s); ok {
			return v, nil
		}
		return s, nil
	case TypeString:
		return s, nil
	case TypeNumber:
		if v, ok := parseNumber(s); ok {
			return v, nil
		}
		return nil, errNotNumber
	case TypeDate:
		if format == "" {
			format = DateLayout
		}
		t, err := time.Parse(format, s)
		if err != nil {
			return nil, errors.New("not a date in the format " + format)
		}
		return t.Format(DateLayout), nil
	case TypeBool:
		b, err := parseConsent(s)
		if err != nil {
			return nil, err
		}
		return *b, nil
	}
	return nil, errors.New("unknown type " + typ)
}
