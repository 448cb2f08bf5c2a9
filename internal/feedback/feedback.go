// Package feedback turns what recipients do on tracking pages (unsubscribe,
// view in browser, reply-coupon and personal-URL responses) into consent,
// suppression and events in the store.
package feedback

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

// Store is what feedback needs from the store (every capability of
// store.Store: ledger, contacts, events, response codes, consent).
type Store = store.Store

// Feedback implements tracking.Unsubscriber, tracking.Viewer and
// tracking.ResponseSink.
type Feedback struct {
	Store     Store
	Secret    []byte // suppression key secret (RELAIS_SECRET)
	Campaigns compose.Campaigns
	Composer  *compose.Composer
	Links     compose.LinkMaker // for the links of a re-rendered message
	Now       func() time.Time
	// Channels give each channel's consent record and address; nil: the
	// built-in channels.
	Channels *channel.Registry
}

// builtinChannels is the registry of a Feedback given none.
var builtinChannels = sync.OnceValue(builtin.Channels)

// descriptor returns ch's descriptor; false for an unknown channel.
func (f *Feedback) descriptor(ch string) (*channel.Descriptor, bool) {
	r := f.Channels
	if r == nil {
		r = builtinChannels()
	}
	return r.Lookup(ch)
}

// consentKey is the consent record of ch ("" for an unknown channel).
func (f *Feedback) consentKey(ch string) string {
	if d, ok := f.descriptor(ch); ok {
		return d.ConsentKey
	}
	return ""
}

var (
	_ tracking.Unsubscriber = (*Feedback)(nil)
	_ tracking.Viewer       = (*Feedback)(nil)
	_ tracking.ResponseSink = (*Feedback)(nil)
)

// Unsubscribe withdraws the marketing consent of the message's contact on
// its channel, with the click as proof, and suppresses the address so
// that no later marketing message reaches it. Idempotent.
func (f *Feedback) Unsubscribe(ctx context.Context, cl tracking.Claims, source string) error {
	row, err := f.Store.GetLedger(ctx, cl.LedgerID)
	if err != nil {
		return fmt.Errorf("unsubscribe %s: %w", cl.LedgerID, err)
	}
	c, err := f.Store.GetContact(ctx, row.ContactID)
	if err != nil {
		return fmt.Errorf("unsubscribe %s: contact: %w", cl.LedgerID, err)
	}
	now := f.now()
	err = f.Store.SetConsent(ctx, c.ID, f.consentKey(row.Channel), contact.PurposeMarketing, contact.ConsentState{
		Status: contact.Refused, Source: "unsubscribe:" + source + ":" + row.CampaignID, At: now,
		Text: "unsubscribe link of campaign " + row.CampaignID + " step " + row.StepID,
	})
	if err != nil {
		return err
	}
	if key := f.addressKey(row.Channel, c); key != "" {
		return f.Store.Suppress(ctx, key, contact.SuppressOptedOut)
	}
	return nil
}

// addressKey is the suppression key of c's address on ch ("" when none).
func (f *Feedback) addressKey(ch string, c *contact.Contact) string {
	d, ok := f.descriptor(ch)
	if !ok {
		return ""
	}
	norm := d.Address.Normalized(c)
	if norm == "" {
		return ""
	}
	return contact.SuppressionKey(f.Secret, d.Address.Class, norm)
}

// View re-renders a message of a tracked channel (email) for the view-in-browser page, with the same
// tracking links the recipient received.
func (f *Feedback) View(ctx context.Context, ledgerID string) (string, error) {
	row, err := f.Store.GetLedger(ctx, ledgerID)
	if err != nil {
		return "", err
	}
	if d, ok := f.descriptor(row.Channel); !ok || !d.Tracked {
		return "", fmt.Errorf("view %s: %w", ledgerID, store.ErrNotFound)
	}
	run, err := f.Store.GetRun(ctx, row.RunID)
	if err != nil {
		return "", err
	}
	sp, err := f.Campaigns.Campaign(ctx, row.CampaignID, run.ContentHash)
	if err != nil {
		return "", fmt.Errorf("view %s: %w: %w", ledgerID, store.ErrNotFound, err)
	}
	st := sp.Step(row.StepID)
	if st == nil {
		return "", fmt.Errorf("view %s: step gone: %w", ledgerID, store.ErrNotFound)
	}
	c, err := f.Store.GetContact(ctx, row.ContactID)
	if err != nil {
		return "", err
	}
	var links compose.Links
	if f.Links != nil {
		if links, _, err = f.Links.Links(&row, c, sp); err != nil {
			return "", err
		}
	}
	m, err := f.Composer.Compose(compose.Input{Spec: sp, Step: st, Channel: row.Channel, LedgerID: row.ID, Contact: c, Links: links, Now: row.CreatedAt})
	if err != nil {
		return "", err
	}
	return m.HTML, nil
}

// Respond records a "responded" event on the message a response code was
// printed on; a second visit with the same code is not counted again.
func (f *Feedback) Respond(ctx context.Context, code string, at time.Time) (string, error) {
	id, err := f.Store.LedgerByResponseCode(ctx, code)
	if err != nil {
		return "", err
	}
	if at.IsZero() {
		at = f.now()
	}
	_, err = f.Store.RecordEvents(ctx, []store.Event{{LedgerID: id, Type: store.EventResponded, DedupeKey: "response:" + code, At: at}})
	if err != nil {
		return "", err
	}
	return id, nil
}

func (f *Feedback) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// SuppressOnFailure suppresses an address a provider refused for good
// (a hard bounce, a landline or an invalid number is not tried
// again; Twilio's 21610 means the person texted STOP to the sender).
// Other reasons change nothing.
func (f *Feedback) SuppressOnFailure(ctx context.Context, row *store.LedgerRow, c *contact.Contact, reason string) error {
	var supp string
	switch reason {
	case "hard_bounce", "landline", "invalid_address", "unreachable":
		supp = contact.SuppressHardBounce
	case "opted_out":
		supp = contact.SuppressOptedOut
		err := f.Store.SetConsent(ctx, c.ID, f.consentKey(row.Channel), contact.PurposeMarketing, contact.ConsentState{
			Status: contact.Refused, Source: "provider:" + row.Channel, At: f.now(), Text: "provider reported the recipient unsubscribed"})
		if err != nil {
			return err
		}
	default:
		return nil
	}
	if key := f.addressKey(row.Channel, c); key != "" {
		return f.Store.Suppress(ctx, key, supp)
	}
	return nil
}
