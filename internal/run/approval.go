package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
)

// NotApprovedError is StartResend's refusal of a campaign that needs an
// approved proof (approval: required) when its version has none.
type NotApprovedError struct {
	Campaign string
	Version  string // the content hash that needs the approval
}

func (e *NotApprovedError) Error() string {
	return fmt.Sprintf("campaign %s version %.12s needs an approved proof", e.Campaign, e.Version)
}

// CheckApproval returns a *NotApprovedError when sp requires an approval
// (approval: required) and none was given to this version; an approval of
// another version does not count.
func (p *Planner) CheckApproval(ctx context.Context, sp *campaign.Spec) error {
	if sp.Approval != campaign.ApprovalRequired {
		return nil
	}
	as, err := p.Store.Approvals(ctx, sp.ID, sp.ContentHash)
	if err != nil {
		return fmt.Errorf("approvals: %w", err)
	}
	if len(as) == 0 {
		return &NotApprovedError{Campaign: sp.ID, Version: sp.ContentHash}
	}
	return nil
}

// errEnough stops an audience walk once enough recipients were read.
var errEnough = errors.New("enough")

// First returns the first n recipients of sp's audience after its filter
// (where, top), in the audience's order.
func (p *Planner) First(ctx context.Context, sp *campaign.Spec, n int) ([]*contact.Contact, error) {
	var out []*contact.Contact
	var res Result
	err := p.walk(ctx, sp, &res, func(batch []*contact.Contact) error {
		for _, c := range batch {
			out = append(out, c)
			if len(out) == n {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return out, nil
}
