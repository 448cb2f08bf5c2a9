package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.PhoneStore = (*Store)(nil)

const (
	qContactsByPhone = `SELECT id FROM contacts WHERE phone = $1 ORDER BY id`

	// An empty channel array selects every channel.
	qLatestLedgerByContact = `SELECT ` + ledgerCols + ` FROM ledger
WHERE contact_id = $1 AND provider_id IS NOT NULL AND provider_id <> ''
  AND (cardinality($2::text[]) = 0 OR channel = ANY($2::text[]))
ORDER BY created_at DESC, id DESC LIMIT 1`
)

// ContactsByPhone implements store.PhoneStore.
func (s *Store) ContactsByPhone(ctx context.Context, e164 string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, qContactsByPhone, e164)
	if err != nil {
		return nil, fmt.Errorf("postgres: contacts by phone: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: contacts by phone: %w", err)
	}
	if ids == nil {
		ids = []int64{}
	}
	return ids, nil
}

// LatestLedgerByContact implements store.PhoneStore.
func (s *Store) LatestLedgerByContact(ctx context.Context, contactID int64, channels []string) (store.LedgerRow, error) {
	if channels == nil {
		channels = []string{}
	}
	l, err := scanLedger(s.pool.QueryRow(ctx, qLatestLedgerByContact, contactID, channels))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LedgerRow{}, notFound("latest ledger of contact " + strconv.FormatInt(contactID, 10))
	}
	if err != nil {
		return store.LedgerRow{}, fmt.Errorf("postgres: latest ledger of contact %d: %w", contactID, err)
	}
	return l, nil
}
