package channel

import (
	"errors"

	"github.com/relais-dev/relais/internal/contact"
)

// Descriptor is everything relais knows about one channel, registered once
// so that policy, campaign files, the API, rights, audiences, preview and
// the worker ask it instead of switching on channel names: adding a
// channel is one descriptor and one registration line.
type Descriptor struct {
	// Name is the channel name used in campaign files (channels: [...],
	// the step block key), on ledger rows and in reports.
	Name string
	// Family groups channels that reach a person the same way (sms and
	// mms). Planning does not use it: a step tries its channels in order
	// and sends on the first allowed, whatever their family. Empty means
	// the channel is its own family.
	Family string
	// Address is how the channel addresses a contact; channels sharing an
	// Address share its suppression keys (a STOP by SMS also stops MMS).
	Address *Address
	// ConsentKey is the consent record marketing on the channel needs: a
	// key of contact.Contact.Consent and of the consent store.
	ConsentKey string
	// DefaultConsent is the consent mode ("opt_in", "opt_out", "never")
	// per contact kind when the operator's rules say nothing; a kind
	// missing here is opt-in, the safe side.
	DefaultConsent map[string]string
	// QuietHours puts the channel in the default quiet-hours window
	// (marketing texts are not sent at night or on holidays).
	QuietHours bool
	// SenderKey is the key under a campaign's sender: the channel sends
	// from ("" when it needs none); SenderRequired is the validation
	// message when a step uses the channel and the key is missing.
	SenderKey      string
	SenderRequired string
	// Block is the channel's content block in a campaign step.
	Block Block
	// Tracked says the channel carries the unsubscribe headers, click
	// rewriting and open pixel of tracking (email).
	Tracked bool
	// ResponseCode says the channel's messages carry a response code and
	// personal URL (the reply coupon of letters).
	ResponseCode bool
	// Spooled says the channel's sends are spooled per run and assembled
	// when the run's sends are done (print batches).
	Spooled bool
	// SegmentCost says the campaign cost of the channel is per segment
	// (SMS): reports multiply it by the segments the provider counted.
	SegmentCost bool
}

// FamilyName returns d's family: Family, or Name when empty.
func (d *Descriptor) FamilyName() string {
	if d.Family != "" {
		return d.Family
	}
	return d.Name
}

// Address is one way of reaching a contact (an email address, a phone
// number, a postal address), shared by the channels that use it.
type Address struct {
	// Class names the address for suppression keys and the suppression
	// list ("email", "phone", "postal"); it must never change, or
	// existing suppressions stop matching.
	Class string
	// Field is the recipient field (API, import) that carries the
	// address, named in "needs an address" errors.
	Field string
	// Normalized returns the form of c's address suppression keys are
	// computed over, "" when c has none.
	Normalized func(c *contact.Contact) string
	// Check is the one rule saying whether c's address is usable: nil,
	// ErrNoAddress, or an *InvalidAddressError.
	Check func(c *contact.Contact) error
}

// ErrNoAddress says a contact has no address on a channel.
var ErrNoAddress = errors.New("no address")

// InvalidAddressError says a contact's address on a channel cannot be
// used; Detail says why without quoting the address.
type InvalidAddressError struct{ Detail string }

// Error implements error.
func (e *InvalidAddressError) Error() string {
	if e.Detail == "" {
		return "invalid address"
	}
	return "invalid address: " + e.Detail
}

// Usable reports whether c can be reached on d at all (the policy then
// decides whether it may be).
func (d *Descriptor) Usable(c *contact.Contact) bool {
	return d.Address != nil && c != nil && d.Address.Check(c) == nil
}
