package compose

import (
	"context"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
)

// Campaigns finds the campaign version a run was planned with, so that a
// message is always composed from the content its run was planned with,
// even after the campaign files changed.
type Campaigns interface {
	// Campaign returns campaign id at content hash (the run's), or an
	// error when that version is not available in this process.
	Campaign(ctx context.Context, id, contentHash string) (*campaign.Spec, error)
}

// LinkMaker returns the tracking links and headers of one message (the
// tracking package implements it); it is an interface so that composing
// does not depend on how links are signed and served.
type LinkMaker interface {
	Links(row *store.LedgerRow, c *contact.Contact, sp *campaign.Spec) (Links, string, error)
}

// CapOf returns the campaign's frequency cap for the policy (nil: the
// rules' default); planning and sending must pass the same cap.
func CapOf(sp *campaign.Spec) *policy.Cap {
	if sp.Limits.FrequencyCap == nil {
		return nil
	}
	return &policy.Cap{N: sp.Limits.FrequencyCap.N, Per: sp.Limits.FrequencyCap.Per}
}
