package rights

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Errors of Resolve. Both are the user's input, not a failure.
var (
	// ErrNoContact: no (non-erased) contact has this reference.
	ErrNoContact = errors.New("no contact with this reference")
	// ErrAmbiguous: several contacts share the reference (two people
	// with one phone); use the external id.
	ErrAmbiguous = errors.New("several contacts match this reference; use the external id")
)

// Resolve returns the one contact whose external id, email or phone is
// ref. It wraps ErrNoContact or ErrAmbiguous; the reference itself is
// never quoted, since it is usually an address.
func Resolve(ctx context.Context, st store.RightsStore, ref string) (*contact.Contact, error) {
	cs, err := st.FindContacts(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("rights: find contact: %w", err)
	}
	switch len(cs) {
	case 0:
		return nil, ErrNoContact
	case 1:
		return cs[0], nil
	}
	return nil, fmt.Errorf("%w (%d contacts)", ErrAmbiguous, len(cs))
}

// Document is the answer to an access or portability request (GDPR
// art. 15 and 20): everything relais holds about one contact, as JSON.
type Document struct {
	ExportedAt time.Time             `json:"exported_at"`
	Contact    *contact.Contact      `json:"contact"`
	Consents   []store.ConsentRecord `json:"consents"`
	Deliveries []Delivery            `json:"deliveries"`
	Events     []Event               `json:"events"`
}

// Delivery is one ledger row as the person sees it.
type Delivery struct {
	ID         string    `json:"id"`
	CampaignID string    `json:"campaign"`
	RunID      int64     `json:"run_id"`
	StepID     string    `json:"step"`
	Channel    string    `json:"channel"`
	Purpose    string    `json:"purpose"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Event is one tracked event as the person sees it.
type Event struct {
	Type       string    `json:"type"`
	DeliveryID string    `json:"delivery_id"`
	CampaignID string    `json:"campaign"`
	Channel    string    `json:"channel"`
	Machine    bool      `json:"machine,omitempty"`
	URL        string    `json:"url,omitempty"`
	Value      float64   `json:"value,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	At         time.Time `json:"at"`
}

// Export gathers c's document: the contact, its recorded consents with
// their proof, its deliveries (ledger rows) and its events. Store errors
// are wrapped.
func Export(ctx context.Context, st store.RightsStore, c *contact.Contact, now time.Time) (Document, error) {
	doc := Document{ExportedAt: now.UTC(), Contact: c, Consents: []store.ConsentRecord{}, Deliveries: []Delivery{}, Events: []Event{}}
	recs, err := st.ListConsents(ctx, c.ID)
	if err != nil {
		return doc, fmt.Errorf("rights: export: %w", err)
	}
	doc.Consents = append(doc.Consents, recs...)
	rows, err := st.ContactLedger(ctx, c.ID)
	if err != nil {
		return doc, fmt.Errorf("rights: export: %w", err)
	}
	for _, r := range rows {
		doc.Deliveries = append(doc.Deliveries, Delivery{ID: r.ID, CampaignID: r.CampaignID, RunID: r.RunID, StepID: r.StepID,
			Channel: r.Channel, Purpose: r.Purpose, State: string(r.State), Reason: r.Reason, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	}
	evs, err := st.ContactEvents(ctx, c.ID)
	if err != nil {
		return doc, fmt.Errorf("rights: export: %w", err)
	}
	for _, e := range evs {
		doc.Events = append(doc.Events, Event{Type: e.Type, DeliveryID: e.LedgerID, CampaignID: e.CampaignID, Channel: e.Channel,
			Machine: e.Machine, URL: e.URL, Value: e.Value, Currency: e.Currency, Detail: e.Detail, At: e.At})
	}
	return doc, nil
}

// Forget erases contact id (GDPR art. 17) through st.EraseContact, with
// the suppression keys of every address the stored contact had under
// secret (contact.SuppressionKeys), so the person stays refused if the
// address comes back in an import. It reports false when the contact was
// already erased (a second request succeeds and changes nothing).
func Forget(ctx context.Context, st store.RightsStore, secret []byte, id int64, now time.Time) (bool, error) {
	return ForgetOn(ctx, st, nil, secret, id, now)
}

// ForgetOn is Forget that also suppresses the addresses of channels
// (those of channels added to the built-in ones included); nil: the
// built-in addresses only.
func ForgetOn(ctx context.Context, st store.RightsStore, channels *channel.Registry, secret []byte, id int64, now time.Time) (bool, error) {
	if len(secret) < 16 {
		return false, errors.New("rights: forget: suppression secret shorter than 16 bytes")
	}
	erased, err := st.EraseContact(ctx, id, func(c *contact.Contact) []string { return suppressionKeys(channels, secret, c) }, now)
	if err != nil {
		return false, fmt.Errorf("rights: forget contact %d: %w", id, err)
	}
	return erased, nil
}

// refClass is the suppression-list class of an erased external id.
const refClass = "external_id"

// ErasedRefKey is the suppression-list key that records the erasure of the
// contact whose external id was ref: the erasure blanks the id itself, so
// this key is how forgetting the contact again by its id knows it is done.
// No channel sends to an external id, so no send ever matches it.
func ErasedRefKey(secret []byte, ref string) string {
	return contact.SuppressionKey(secret, refClass, strings.TrimSpace(ref))
}

// suppressionKeys returns the keys of c's addresses, by address class
// order: the built-in ones, and those of channels, and the key of its
// external id (ErasedRefKey).
func suppressionKeys(channels *channel.Registry, secret []byte, c *contact.Contact) []string {
	m := contact.SuppressionKeys(secret, c)
	if channels != nil {
		for _, a := range channels.Addresses() {
			if n := a.Normalized(c); n != "" {
				m[a.Class] = contact.SuppressionKey(secret, a.Class, n)
			}
		}
	}
	if ref := strings.TrimSpace(c.ExternalID); ref != "" {
		m[refClass] = ErasedRefKey(secret, ref)
	}
	keys := make([]string, 0, len(m))
	for _, addr := range slices.Sorted(maps.Keys(m)) {
		keys = append(keys, m[addr])
	}
	return keys
}

// DefaultRetention is the retention period of prospects: 3 years, the
// CNIL's reference for prospection data (délibération 2016-264 and its
// "référentiel gestion commerciale", 2021).
const DefaultRetention = 3 * 365 * 24 * time.Hour

// Retention erases every prospect without activity for period before now
// (see Inactive for who that is) and returns how many it erased. The
// scheduler calls it daily; `relais contacts retention` runs it by hand.
// It stops at the first store error, wrapped; the contacts erased before
// stay erased, and running it again continues.
func Retention(ctx context.Context, st store.RightsStore, secret []byte, now time.Time, period time.Duration) (int, error) {
	return RetentionOn(ctx, st, nil, secret, now, period)
}

// RetentionOn is Retention erasing with ForgetOn.
func RetentionOn(ctx context.Context, st store.RightsStore, channels *channel.Registry, secret []byte, now time.Time, period time.Duration) (int, error) {
	n := 0
	err := eachInactive(ctx, st, now, period, func(c *contact.Contact) error {
		erased, err := ForgetOn(ctx, st, channels, secret, c.ID, now)
		if erased {
			n++
		}
		return err
	})
	return n, err
}

// Inactive counts the contacts Retention would erase, erasing nothing
// (`contacts retention --dry-run`): contacts not erased, created more than
// period before now, with no human click, reply, response or conversion
// event (store.ActivityTypes; an open does not count) and no consent
// granted within the period.
func Inactive(ctx context.Context, st store.RightsStore, now time.Time, period time.Duration) (int, error) {
	n := 0
	err := eachInactive(ctx, st, now, period, func(*contact.Contact) error { n++; return nil })
	return n, err
}

func eachInactive(ctx context.Context, st store.RightsStore, now time.Time, period time.Duration, fn func(*contact.Contact) error) error {
	if period <= 0 {
		return errors.New("rights: retention period must be positive")
	}
	since := now.Add(-period)
	var after int64
	for {
		page, err := st.InactiveContacts(ctx, since, after, 1000)
		if err != nil {
			return fmt.Errorf("rights: retention: %w", err)
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
			after = c.ID
		}
		if len(page) < 1000 {
			return nil
		}
	}
}
