package contact

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/mail"
	"strings"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// Defaults filled by (*Contact).Normalize when a field is empty. The
// audience is mostly French, so France is the default everywhere.
const (
	DefaultCountry  = "FR"
	DefaultLocale   = "fr-FR" // BCP 47, as golang.org/x/text expects for number and date formatting
	DefaultTimezone = "Europe/Paris"
	DefaultKind     = KindPerson
)

// ErrInvalidPhone is wrapped by NormalizePhone when the input is not a
// valid number for its region. The message never contains the number.
var ErrInvalidPhone = errors.New("invalid phone number")

// NormalizeEmail returns the trimmed, lower-cased form of s used for
// matching, deduplication and suppression, and whether it is a valid
// address. Lower-casing the local part is technically lossy (RFC 5321), but
// no mainstream provider distinguishes case and treating "Jean@x.fr" and
// "jean@x.fr" as two people would send twice. An invalid address is still
// returned (lower-cased) so the caller can keep it and flag it; valid means
// net/mail accepts it as a bare address (no display name) and the domain
// contains an inner dot.
func NormalizeEmail(s string) (norm string, ok bool) {
	norm = strings.ToLower(strings.TrimSpace(s))
	if norm == "" {
		return "", false
	}
	a, err := mail.ParseAddress(norm)
	if err != nil || a.Address != norm {
		return norm, false
	}
	at := strings.LastIndexByte(norm, '@')
	if at <= 0 {
		return norm, false
	}
	domain := norm[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return norm, false
	}
	return norm, true
}

// NormalizePhone parses raw as dialled from region (an ISO 3166-1 alpha-2
// code, default "FR" when empty) and returns it in E.164. National forms
// ("06 12 34 56 78"), international ones ("+33 6…", "0033 6…") and the
// spreadsheet habit "+33 (0)6…" are accepted. The error wraps
// ErrInvalidPhone when the number cannot exist, and never quotes raw.
func NormalizePhone(raw, region string) (e164 string, err error) {
	if region == "" {
		region = DefaultCountry
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	}
	region = strings.ToUpper(region)
	if e, ok := fastFrench(raw, region); ok {
		return e, nil
	}
	n, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: not a valid number for its region", ErrInvalidPhone)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// IsMobile reports whether the E.164 number is a mobile (or, where the
// numbering plan cannot tell, possibly mobile) number; SMS to landlines
// fail permanently, so the channel choice skips them. It returns false for
// anything that does not parse.
func IsMobile(e164 string) bool {
	n, err := phonenumbers.Parse(e164, DefaultCountry)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return false
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return true
	}
	return false
}

// Normalize trims every text field, folds white space inside names (a
// line break in a name is never meant), maps country names and codes to
// ISO codes (NormalizeCountry), fills the defaults (Kind "person",
// Address.Country "FR", Locale "fr-FR", Timezone "Europe/Paris"), sets
// EmailNorm (empty when Email is invalid, so the address is kept but
// flagged) and converts Phone to E.164 using the address country as the
// dialling region. A phone that cannot be normalized moves to PhoneRaw and
// Phone becomes empty: the contact is kept, but never texted. Normalize is
// idempotent.
func (c *Contact) Normalize() {
	for _, p := range []*string{
		&c.ExternalID, &c.Title, &c.FirstName, &c.LastName, &c.Company, &c.Email,
		&c.Phone, &c.PhoneRaw, &c.Locale, &c.Timezone, &c.Kind,
		&c.Address.Line1, &c.Address.Line2, &c.Address.Line3, &c.Address.Line4,
		&c.Address.Postcode, &c.Address.City, &c.Address.Country,
	} {
		*p = strings.TrimSpace(*p)
	}
	c.Kind = strings.ToLower(c.Kind)
	if c.Kind == "" {
		c.Kind = DefaultKind
	}
	for _, p := range []*string{&c.Title, &c.FirstName, &c.LastName, &c.Company} {
		*p, _ = FoldSpaces(*p)
	}
	c.Address.Country, _ = NormalizeCountry(c.Address.Country)
	if c.Address.Country == "" {
		c.Address.Country = DefaultCountry
	}
	if c.Locale == "" {
		c.Locale = DefaultLocale
	}
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	c.EmailNorm = ""
	if norm, ok := NormalizeEmail(c.Email); ok {
		c.EmailNorm = norm
	}
	if c.Phone == "" && c.PhoneRaw != "" {
		c.Phone = c.PhoneRaw // retry a previously failed number (e.g. the country was fixed)
	}
	if c.Phone != "" {
		if e, err := NormalizePhone(c.Phone, c.Address.Country); err == nil {
			c.Phone, c.PhoneRaw = e, ""
		} else {
			c.PhoneRaw, c.Phone = c.Phone, ""
		}
	}
}

// fastFrench handles the overwhelmingly common French forms ("06 12 34 56
// 78", "06.12.34.56.78", "+33 6…", "+33 (0)6…", "0033 6…") without
// phonenumbers.Parse, whose regular expressions dominate the cost of
// reading a large file. Validity is still decided by the library's
// metadata (IsValidNumberForRegion), so the result is the same; ok is
// false for any other shape or an invalid number, which then takes the
// general path.
func fastFrench(raw, region string) (e164 string, ok bool) {
	var d [16]byte
	n := 0
	plus := false
	for i := 0; i < len(raw); i++ {
		switch ch := raw[i]; {
		case ch >= '0' && ch <= '9':
			if n == len(d) {
				return "", false
			}
			d[n] = ch
			n++
		case ch == '+' && i == 0:
			plus = true
		case ch == ' ' || ch == '.' || ch == '-':
		default:
			return "", false
		}
	}
	digits := string(d[:n])
	var nsn string
	switch {
	case !plus && region == "FR" && n == 10 && digits[0] == '0' && digits[1] != '0':
		nsn = digits[1:]
	case plus && n == 11 && strings.HasPrefix(digits, "33") && digits[2] != '0':
		nsn = digits[2:]
	case !plus && n == 13 && strings.HasPrefix(digits, "0033") && digits[4] != '0':
		nsn = digits[4:]
	default:
		return "", false
	}
	var nat uint64
	for i := 0; i < len(nsn); i++ {
		nat = nat*10 + uint64(nsn[i]-'0')
	}
	cc := int32(33)
	num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nat}
	if !phonenumbers.IsValidNumberForRegion(num, "FR") {
		return "", false // maybe an overseas department dialled like a French number: let Parse decide
	}
	return "+33" + nsn, true
}

// IsE164 is relais's one rule for a phone number a text channel may use:
// s is in canonical E.164 form ("+" and digits, as NormalizePhone writes
// it) and libphonenumber finds its length possible for its country code.
// Ranges are judged once, when NormalizePhone reads a number; a stored
// E.164 number is not refused later because the numbering plan data moved.
func IsE164(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false // the E.164 form is digits only
		}
	}
	// A number is checked several times per send (policy, channel,
	// provider request): libphonenumber's parse and format cost a tenth
	// of an SMS worker's CPU, so the last answers are kept.
	slot := &e164Memo[maphash.String(e164Seed, s)&(uint64(len(e164Memo))-1)]
	if r := slot.Load(); r != nil && r.number == s {
		return r.ok
	}
	ok := isE164(s)
	slot.Store(&e164Answer{number: strings.Clone(s), ok: ok}) // not s: it may share a large buffer
	return ok
}

// e164Memo keeps IsE164's last answers, one per slot of a number's hash
// (a newer number takes the slot).
var (
	e164Memo [4096]atomic.Pointer[e164Answer]
	e164Seed = maphash.MakeSeed()
)

type e164Answer struct {
	number string
	ok     bool
}

// isE164 is IsE164 without the memo.
func isE164(s string) bool {
	n, err := phonenumbers.Parse(s, DefaultCountry)
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return false
	}
	return phonenumbers.Format(n, phonenumbers.E164) == s
}
