package store

import (
	"context"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// Settlement is one Settle of SettleAll: the rows of Outs still in one of
// From move to To.
type Settlement struct {
	From []State
	To   State
	Outs []Outcome
}

// Outcome is what Settle writes on one ledger row.
type Outcome struct {
	ID string
	Change
}

// BatchStore is the batched send path's access to the ledger and the
// policy lookups: one statement per call, whatever the number of rows.
// Both backends implement it.
type BatchStore interface {
	// ClaimLedger moves the rows of ids that are planned, deferred or
	// claimed to claimed, counting an attempt on each, in one statement;
	// it returns the rows it moved (in any order). Rows in other states
	// (final, submitting) and unknown ids are left alone and absent.
	ClaimLedger(ctx context.Context, ids []string) ([]LedgerRow, error)
	// Settle moves each row of outs whose state is one of from to state
	// to, applying its Change as Transition does (AddAttempt and
	// NotBefore excepted), in one statement. It returns the ids it moved.
	Settle(ctx context.Context, from []State, to State, outs []Outcome) ([]string, error)
	// SettleAll runs the Settle of each settlement in one transaction
	// and returns the ids each moved, in the settlements' order: all are
	// written or, on error, none.
	SettleAll(ctx context.Context, sets []Settlement) ([][]string, error)
	// SuppressedKeys returns, for each key on the suppression list, its
	// most blocking reason (as Suppressed); keys not listed are absent.
	SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error)
	// Consents returns the consent of each contact of ids on
	// consentChannel for purpose, resolved as Consent resolves it; a
	// contact with nothing recorded (or unknown) gets Status Unknown.
	Consents(ctx context.Context, ids []int64, consentChannel, purpose string) (map[int64]contact.ConsentState, error)
	// MarketingSentSinceMany is MarketingSentSince for each contact of
	// ids; a contact with none is absent (zero).
	MarketingSentSinceMany(ctx context.Context, ids []int64, since time.Time) (map[int64]int, error)
}
