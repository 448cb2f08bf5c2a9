// Package audience turns an audience (the contact store or a CSV/JSONL
// file, with an optional column mapping) into a stream of contacts,
// filtered by a where expression, cut to a Pareto top and de-duplicated,
// without ever holding the audience in memory.
package audience

import (
	"context"
	"fmt"

	"github.com/relais-dev/relais/internal/contact"
)

// Source is a re-readable stream of contacts: every Each call starts again
// from the beginning, which lets a Pareto selection make two passes instead
// of holding the audience in memory. Each returns fn's first error as is.
type Source interface {
	Each(ctx context.Context, fn func(c *contact.Contact) error) error
}

// StoreScanner is the part of the store a StoreSource needs (store.Store
// implements it): contacts with ID > afterID in ID order, at most limit.
type StoreScanner interface {
	ScanContacts(ctx context.Context, afterID int64, limit int) ([]*contact.Contact, error)
}

// DefaultPageSize is StoreSource's page size when PageSize is 0: large
// enough to amortise a query, small enough to keep memory flat.
const DefaultPageSize = 1000

// StoreSource streams the contact store by keyset pages (ID order), so a
// contact added during a pass is seen only if its ID is beyond the cursor.
type StoreSource struct {
	S StoreScanner
	// PageSize is the number of contacts per query (default 1000).
	PageSize int
}

var (
	_ Source = (*StoreSource)(nil)
	_ Source = (*FileSource)(nil)
)

// Each calls fn for every stored contact in ID order; store errors are
// wrapped, fn's are returned as is.
func (s StoreSource) Each(ctx context.Context, fn func(c *contact.Contact) error) error {
	limit := s.PageSize
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var after int64
	for {
		page, err := s.S.ScanContacts(ctx, after, limit)
		if err != nil {
			return fmt.Errorf("audience: scan contacts after %d: %w", after, err)
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
			after = c.ID
		}
		if len(page) < limit {
			return nil
		}
	}
}
