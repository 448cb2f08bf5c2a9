package contact

import (
	"encoding/hex"
	"strings"
	"sync/atomic"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/relais-dev/relais/internal/macpool"
)

// Address channels: what a suppression key is computed over. SMS and MMS
// share the phone key, so a STOP received by SMS also stops MMS.
const (
	AddrEmail  = "email"
	AddrPhone  = "phone"
	AddrPostal = "postal"
)

// Suppression reasons stored with a key in the suppression list.
const (
	// SuppressHardBounce: the provider said the address does not exist.
	// Blocks every message, transactional included.
	SuppressHardBounce = "hard_bounce"
	// SuppressOptedOut: the person unsubscribed (link, STOP, API). Blocks
	// marketing only: an order confirmation is still owed.
	SuppressOptedOut = "opted_out"
	// SuppressErased: the person was forgotten (GDPR art. 17). Blocks
	// everything.
	SuppressErased = "erased"
	// SuppressManual: an operator added the address. Blocks everything.
	SuppressManual = "manual"
	// SuppressComplaint: the person reported a message as spam. Blocks
	// marketing only, as an opt-out does.
	SuppressComplaint = "complaint"
	// SuppressSoftBounce: the address bounced temporarily too often
	// (bounce.Recorder's threshold). Blocks every message, as a hard
	// bounce does.
	SuppressSoftBounce = "soft_bounce"
)

// SuppressionKey is the suppression list's key for an address: the hex
// HMAC-SHA256 under secret of addrChannel ("email", "phone", "postal"),
// a NUL, and the normalized address (lower-cased email, E.164 phone,
// NormalizePostal output). It is the only thing erasure keeps: the list
// can tell whether an address is suppressed without storing it, and
// without the secret the key cannot be reversed by hashing guesses.
// Rotating the secret forgets every suppression, so it must not be rotated.
func SuppressionKey(secret []byte, addrChannel, normalizedAddress string) string {
	body := make([]byte, 0, len(addrChannel)+1+len(normalizedAddress))
	body = append(append(append(body, addrChannel...), 0), normalizedAddress...)
	return hex.EncodeToString(suppressionMACs(secret).Sum(nil, body))
}

// keyedMACs is the HMAC pool of one secret.
type keyedMACs struct {
	secret string
	pool   *macpool.Pool
}

// lastSecret keeps the pool of the last secret SuppressionKey was given: a
// process has one, and a key is computed for each recipient's send.
var lastSecret atomic.Pointer[keyedMACs]

func suppressionMACs(secret []byte) *macpool.Pool {
	if k := lastSecret.Load(); k != nil && k.secret == string(secret) {
		return k.pool
	}
	k := &keyedMACs{secret: string(secret)}
	k.pool = macpool.New([]byte(k.secret))
	lastSecret.Store(k)
	return k.pool
}

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

// NormalizedAddress returns the form of c's address on address channel
// addr ("" when c has none there).
func NormalizedAddress(c *Contact, addr string) string {
	switch addr {
	case AddrEmail:
		n, _ := NormalizeEmail(c.Email)
		return n
	case AddrPhone:
		return strings.TrimSpace(c.Phone)
	case AddrPostal:
		return NormalizePostal(c.Address)
	}
	return ""
}

// SuppressionKeys returns the suppression keys of every address c has,
// by address channel. Erasure calls it before removing the PII, to
// suppress every key, and a hard bounce or opt-out uses the key of the
// channel it arrived on.
func SuppressionKeys(secret []byte, c *Contact) map[string]string {
	keys := make(map[string]string, 3)
	for _, addr := range []string{AddrEmail, AddrPhone, AddrPostal} {
		if n := NormalizedAddress(c, addr); n != "" {
			keys[addr] = SuppressionKey(secret, addr, n)
		}
	}
	return keys
}
