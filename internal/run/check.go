package run

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
)

// Check is what a run of a campaign would do with one recipient of one
// step, found without writing anything (relais preview, relais proof).
type Check struct {
	// Contact is the recipient as a run sees it: matched to the stored
	// contact (ID set) when there is one, so consent and suppressions
	// are the stored ones.
	Contact *contact.Contact
	// Filtered says why the audience's where/top leaves the recipient
	// out ("" when it is in).
	Filtered string
	// AlreadyReceived: an earlier version's run reached the recipient
	// with this step, so a run of this version skips it.
	AlreadyReceived bool
	// Channel is the channel a run would choose (or the one asked), and
	// Decision the policy's verdict on it, judged as at planning.
	Channel  string
	Decision policy.Decision
	// Row is the ledger row of the recipient in this version's run when
	// that run exists, else nil.
	Row *store.LedgerRow
}

// Refused reports whether a run would not send this message, and why
// (a policy reason, "filtered_out" or "already_received").
func (c Check) Refused() (string, string, bool) {
	switch {
	case c.Filtered != "":
		return "filtered_out", c.Filtered, true
	case c.AlreadyReceived:
		return "already_received", "an earlier version of the campaign reached this recipient with this step (relais run --resend sends again)", true
	case c.Decision.Verdict == policy.Deny:
		return c.Decision.Reason, c.Decision.Detail, true
	}
	return "", "", false
}

// errFound stops an audience walk at the recipient looked for.
var errFound = errors.New("found")

// Find returns the recipient of sp's audience whose external id or email
// address is ref, and why the audience's filter leaves it out ("" when it
// is in). It is a user error (ErrNoRecipient) when the audience has no
// such recipient.
func (p *Planner) Find(ctx context.Context, sp *campaign.Spec, ref string) (*contact.Contact, string, error) {
	match := func(c *contact.Contact) bool {
		return c.ExternalID == ref || (c.Email != "" && strings.EqualFold(c.Email, ref))
	}
	var found *contact.Contact
	var res Result
	err := p.walk(ctx, sp, &res, func(batch []*contact.Contact) error {
		for _, c := range batch {
			if match(c) {
				found = c
				return errFound
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, "", err
	}
	if found != nil {
		return found, "", nil
	}
	src, err := Source(sp, p.Store, func(audience.RowError) {})
	if err != nil {
		return nil, "", err
	}
	err = src.Each(ctx, func(c *contact.Contact) error {
		if match(c) {
			c.Normalize()
			found = c
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, "", err
	}
	if found == nil {
		return nil, "", fmt.Errorf("%w %q in the audience of %s", ErrNoRecipient, ref, sp.ID)
	}
	why := "the audience filter leaves this recipient out"
	switch {
	case sp.Audience.Where != "" && sp.Audience.Top != nil:
		why = fmt.Sprintf("audience.where (%s) or audience.top leaves this recipient out", sp.Audience.Where)
	case sp.Audience.Where != "":
		why = fmt.Sprintf("audience.where (%s) is false for this recipient", sp.Audience.Where)
	case sp.Audience.Top != nil:
		why = fmt.Sprintf("audience.top keeps the best %g %% by %s, without this recipient", sp.Audience.Top.Percent, sp.Audience.Top.By)
	}
	return found, why, nil
}

// ErrNoRecipient is Find's error when the audience has no recipient of
// that reference.
var ErrNoRecipient = errors.New("no recipient")

// Check decides, as a run of sp would and without writing, what happens
// to recipient c (from Find, filtered being Find's answer) on step st: on
// channel ch, or on the channel a run would choose when ch is "".
func (p *Planner) Check(ctx context.Context, sp *campaign.Spec, st *campaign.Step, c *contact.Contact, filtered, ch string) (Check, error) {
	out := Check{Contact: c, Filtered: filtered}
	if c.ID == 0 {
		if err := p.Store.MatchContacts(ctx, []*contact.Contact{c}); err != nil {
			return out, fmt.Errorf("match contact: %w", err)
		}
		if c.ID != 0 {
			// The stored contact carries the consent and erasure a run
			// decides on; the file row its fields for this version.
			if stored, err := p.Store.GetContact(ctx, c.ID); err == nil {
				c = store.MergeContact(stored, c)
				out.Contact = c
			}
		}
	}
	var runID int64
	if r, err := p.Store.FindRun(ctx, sp.ID, DefaultRunKey(sp)); err == nil {
		runID = r.ID
		if c.ID != 0 {
			for _, chn := range sp.ChannelsFor(st) {
				if row, err := p.ledgerRowOf(ctx, r.ID, st.ID, c.ID, chn); err == nil {
					out.Row = &row
					if ch == "" {
						ch = chn
					}
					break
				}
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return out, err
	}
	if c.ID != 0 {
		got, err := p.received(ctx, sp, runID, "", []int64{c.ID})
		if err != nil {
			return out, err
		}
		out.AlreadyReceived = got.has(p.channels(), sp, st, c.ID)
	}
	chans := sp.ChannelsFor(st)
	if ch != "" {
		chans = []string{ch}
	}
	var err error
	out.Channel, out.Decision, err = p.chooseFrom(ctx, sp, st, c, chans)
	return out, err
}
