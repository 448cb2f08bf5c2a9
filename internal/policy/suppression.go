package policy

import (
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// AddressChannel maps a delivery channel to the address channel its
// suppression key and consent record use: "email" → "email", "sms" and
// "mms" → "phone", "print" → "postal"; "" for an unknown channel.
func AddressChannel(ch string) string {
	switch ch {
	case channel.Email:
		return contact.AddrEmail
	case channel.SMS, channel.MMS:
		return contact.AddrPhone
	case channel.Print:
		return contact.AddrPostal
	}
	return ""
}

// NormalizeEmail returns the form of an email address its suppression key
// is computed over: contact.NormalizeEmail's (trimmed, lower-cased), valid
// or not, so a key computed at bounce time matches the one checked later.
func NormalizeEmail(s string) string {
	norm, _ := contact.NormalizeEmail(s)
	return norm
}
