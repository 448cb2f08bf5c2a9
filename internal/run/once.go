package run

import (
	"context"
	"fmt"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// receipts are the steps earlier versions of a campaign may have sent to
// a batch of contacts: step → contact → channel families.
type receipts map[string]map[int64]map[string]bool

// received reads what earlier runs of sp's campaign may have sent to the
// batch, so that editing a template or appending audience rows sends only
// to people who did not get the step yet. A recurring campaign (schedule)
// sends once per tick and a resend sends again, so both read nothing.
// runID is the run being expanded (0 when planning), left out of the read.
func (p *Planner) received(ctx context.Context, sp *campaign.Spec, runID int64, resend string, batch []*contact.Contact) (receipts, error) {
	if sp.Schedule != nil || resend != "" {
		return nil, nil
	}
	ids := make([]int64, 0, len(batch))
	for _, c := range batch {
		if c.ID != 0 {
			ids = append(ids, c.ID)
		}
	}
	got, err := p.Store.Received(ctx, sp.ID, runID, ids)
	if err != nil {
		return nil, fmt.Errorf("earlier sends: %w", err)
	}
	out := receipts{}
	for _, g := range got {
		byContact := out[g.StepID]
		if byContact == nil {
			byContact = map[int64]map[string]bool{}
			out[g.StepID] = byContact
		}
		if byContact[g.ContactID] == nil {
			byContact[g.ContactID] = map[string]bool{}
		}
		byContact[g.ContactID][family(p.channels(), g.Channel)] = true
	}
	return out, nil
}

// has reports whether step st may have reached contact id on the family of
// one of the step's channels.
func (r receipts) has(reg *channel.Registry, sp *campaign.Spec, st *campaign.Step, id int64) bool {
	fams := r[st.ID][id]
	if len(fams) == 0 {
		return false
	}
	for _, ch := range sp.ChannelsFor(st) {
		if fams[family(reg, ch)] {
			return true
		}
	}
	return false
}

// family is the channel family of ch (sms and mms reach the same phone),
// or ch itself when it has none.
func family(reg *channel.Registry, ch string) string {
	if d, ok := reg.Lookup(ch); ok && d.Family != "" {
		return d.Family
	}
	return ch
}

// identify gives the contacts of a file audience the id of the stored
// contact with their external id, without storing anything, so that a
// plan can tell who an earlier version reached.
func (p *Planner) identify(ctx context.Context, batch []*contact.Contact) error {
	for _, c := range batch {
		if c.ID != 0 || c.ExternalID == "" {
			continue
		}
		found, err := p.Store.FindContacts(ctx, c.ExternalID)
		if err != nil {
			return fmt.Errorf("contact %s: %w", c.ExternalID, err)
		}
		for _, f := range found {
			if f.ExternalID == c.ExternalID {
				c.ID = f.ID
				break
			}
		}
	}
	return nil
}
