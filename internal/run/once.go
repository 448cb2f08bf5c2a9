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
// sends once per tick, a transactional one once per event and a resend
// sends again, so these read nothing.
// runID is the run being expanded (0 when planning), left out of the read.
func (p *Planner) received(ctx context.Context, sp *campaign.Spec, runID int64, resend string, ids []int64) (receipts, error) {
	if sp.Schedule != nil || resend != "" || sp.Purpose == campaign.Transactional {
		return nil, nil
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

// ids returns the batch's contact ids. With lookup (a plan of a file
// audience), a row without an id gets the id of the stored contact with
// its external id, so that a plan can tell who an earlier version
// reached; the contacts themselves are left as they are.
func (p *Planner) ids(ctx context.Context, batch []*contact.Contact, lookup bool) ([]int64, error) {
	ids := make([]int64, len(batch))
	for i, c := range batch {
		ids[i] = c.ID
		if c.ID != 0 || c.ExternalID == "" || !lookup {
			continue
		}
		found, err := p.Store.FindContacts(ctx, c.ExternalID)
		if err != nil {
			return nil, fmt.Errorf("contact %s: %w", c.ExternalID, err)
		}
		for _, f := range found {
			if f.ExternalID == c.ExternalID {
				ids[i] = f.ID
				break
			}
		}
	}
	return ids, nil
}
