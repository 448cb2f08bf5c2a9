package store

import "context"

// PhoneStore answers what an inbound SMS needs: who owns a number and what
// was last sent to them. Both backends implement it; it is separate from
// Store so it can be embedded there later without breaking other
// implementations in the meantime.
type PhoneStore interface {
	// ContactsByPhone returns the ids of the contacts whose normalized
	// phone is e164, in id order (several people may share a number: a
	// family line, a company switchboard). None is an empty slice, not an
	// error.
	ContactsByPhone(ctx context.Context, e164 string) ([]int64, error)
	// LatestLedgerByContact returns the contact's most recently created
	// ledger row on one of channels (all channels when empty) that a
	// provider accepted (ProviderID set), because only a message that left
	// can be answered. ErrNotFound when there is none.
	LatestLedgerByContact(ctx context.Context, contactID int64, channels []string) (LedgerRow, error)
}
