package httpapi

import (
	"context"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/rights"
	"github.com/relais-dev/relais/internal/store"
)

// StoreRights serves contact export and erasure with the rights package
// on a store implementing store.RightsStore: the same document and the
// same erasure as `relais contacts export/forget`.
type StoreRights struct {
	Store  store.Store
	Rights store.RightsStore
	// Secret keys the suppression hashes an erasure keeps (the policy
	// engine's secret, RELAIS_SECRET; at least 16 bytes).
	Secret []byte
	Now    func() time.Time // default time.Now
	// Channels give the addresses an erasure suppresses (nil: the
	// built-in ones).
	Channels *channel.Registry
}

func (s StoreRights) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ExportContact implements Exporter with rights.Export (a missing
// contact wraps store.ErrNotFound).
func (s StoreRights) ExportContact(ctx context.Context, id int64) (any, error) {
	c, err := s.Store.GetContact(ctx, id)
	if err != nil {
		return nil, err
	}
	return rights.Export(ctx, s.Rights, c, s.now())
}

// ForgetContact implements Forgetter with rights.Forget.
func (s StoreRights) ForgetContact(ctx context.Context, id int64) (bool, error) {
	return rights.ForgetOn(ctx, s.Rights, s.Channels, s.Secret, id, s.now())
}
