package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// ErrConsentValue is wrapped by ParseConsent for a cell it cannot read.
var ErrConsentValue = errors.New("invalid consent value")

// ParseConsent reads a consent cell from an import: yes/no, oui/non, y/n,
// o (oui), 1/0, true/false, vrai/faux, and "x" (a ticked spreadsheet
// box) for yes, case- and accent-insensitive.
// Empty (or blank) means unknown and returns nil. Anything else returns an
// error wrapping ErrConsentValue, so a bad row is reported, never guessed.
func ParseConsent(s string) (*bool, error) {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	v, _, err := transform.String(t, strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConsentValue, err)
	}
	var b bool
	switch v {
	case "":
		return nil, nil
	case "yes", "y", "oui", "o", "1", "true", "vrai", "x":
		b = true
	case "no", "n", "non", "0", "false", "faux":
		b = false
	default:
		// The value is contact data typed by someone: it is quoted only
		// up to a few characters so an error never carries PII.
		return nil, fmt.Errorf("%w %q (want yes/no, oui/non, 1/0, true/false)", ErrConsentValue, truncate(s, 8))
	}
	return &b, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
