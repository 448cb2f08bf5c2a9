package policy

import (
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// AddressChannel returns the address class (suppression keys) of a
// built-in channel, "" for an unknown one. Engine.AddressClass answers
// for the engine's channels.
func AddressChannel(ch string) string { return addressClass(builtinChannels(), ch) }

// AddressClass returns the address class of channel ch, whose
// suppression keys it shares with the channels of the same address (sms
// and mms share the phone's); "" for an unknown channel.
func (e *Engine) AddressClass(ch string) string { return addressClass(e.channels, ch) }

func addressClass(r *channel.Registry, ch string) string {
	if d, ok := r.Lookup(ch); ok {
		return d.Address.Class
	}
	return ""
}

// SuppressionKeys returns the suppression keys of every address c has on
// r's channels, by address class. Erasure calls it before removing the
// PII, to suppress every key.
func SuppressionKeys(r *channel.Registry, secret []byte, c *contact.Contact) map[string]string {
	keys := map[string]string{}
	for _, a := range r.Addresses() {
		if n := a.Normalized(c); n != "" {
			keys[a.Class] = contact.SuppressionKey(secret, a.Class, n)
		}
	}
	return keys
}

// NormalizeEmail returns the form of an email address its suppression key
// is computed over: contact.NormalizeEmail's (trimmed, lower-cased), valid
// or not, so a key computed at bounce time matches the one checked later.
func NormalizeEmail(s string) string {
	norm, _ := contact.NormalizeEmail(s)
	return norm
}
