package contact

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Defaults filled by (*Contact).Normalize when a field is empty. The
// audience is mostly French (SPEC §4), so France is the default everywhere.
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
	n, err := phonenumbers.Parse(raw, strings.ToUpper(region))
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

// Normalize trims every text field, fills the defaults (Kind "person",
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
	c.Address.Country = strings.ToUpper(c.Address.Country)
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
