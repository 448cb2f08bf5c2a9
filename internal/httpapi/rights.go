package httpapi

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
)

// StoreRights serves contact export and erasure straight from a store
// implementing store.RightsStore; it is the Exporter and Forgetter to
// use when the contacts package provides none of its own.
type StoreRights struct {
	Store  store.Store
	Rights store.RightsStore
	// Secret keys the suppression hashes an erasure keeps (the policy
	// engine's secret, RELAIS_SECRET).
	Secret []byte
	Now    func() time.Time // default time.Now
}

// Export is the access/portability document of one contact (GDPR arts.
// 15 and 20): the stored contact, its consents, the messages relais sent
// or refused to send it and their events.
type Export struct {
	Contact    *contact.Contact      `json:"contact"`
	Consents   []store.ConsentRecord `json:"consents"`
	Deliveries []store.LedgerRow     `json:"deliveries"`
	Events     []store.Event         `json:"events"`
}

// ExportContact implements Exporter.
func (s StoreRights) ExportContact(ctx context.Context, id int64) (any, error) {
	c, err := s.Store.GetContact(ctx, id)
	if err != nil {
		return nil, err
	}
	ex := Export{Contact: c}
	if ex.Consents, err = s.Rights.ListConsents(ctx, id); err != nil {
		return nil, fmt.Errorf("export consents: %w", err)
	}
	if ex.Deliveries, err = s.Rights.ContactLedger(ctx, id); err != nil {
		return nil, fmt.Errorf("export deliveries: %w", err)
	}
	if ex.Events, err = s.Rights.ContactEvents(ctx, id); err != nil {
		return nil, fmt.Errorf("export events: %w", err)
	}
	ex.Consents, ex.Deliveries, ex.Events = nonNil(ex.Consents), nonNil(ex.Deliveries), nonNil(ex.Events)
	return ex, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ForgetContact implements Forgetter: the contact's addresses go on the
// suppression list as keyed hashes, then its personal data is erased.
func (s StoreRights) ForgetContact(ctx context.Context, id int64) (bool, error) {
	if len(s.Secret) == 0 {
		return false, fmt.Errorf("forget contact %d: no suppression secret configured", id)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	keys := func(c *contact.Contact) []string {
		var out []string
		for _, k := range policy.SuppressionKeys(s.Secret, c) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return s.Rights.EraseContact(ctx, id, keys, now().UTC())
}
