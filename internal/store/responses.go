package store

import "context"

// ResponseStore keeps the response code printed on a letter's reply coupon
// (and in its personal URL) with the ledger row it was issued for, since
// codes are derived from a key that may rotate before the reply arrives.
type ResponseStore interface {
	// SaveResponseCode records code for ledgerID; saving the same pair
	// again is a no-op.
	SaveResponseCode(ctx context.Context, code, ledgerID string) error
	// LedgerByResponseCode returns the ledger id of code, or ErrNotFound.
	LedgerByResponseCode(ctx context.Context, code string) (string, error)
}
