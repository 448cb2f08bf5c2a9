package sqlstore

import (
	"context"
	"database/sql"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.PhoneStore = (*Store)(nil)

const (
	qContactsByPhone = `SELECT id FROM contacts WHERE phone = $1 ORDER BY id`

	// qLatestLedgerByContact is completed with " AND channel <in>" when
	// channels are given, then qLatestLedgerByContactEnd.
	qLatestLedgerByContact = `SELECT ` + ledgerCols + ` FROM ledger
WHERE contact_id = $1 AND provider_id IS NOT NULL AND provider_id <> ''`
	qLatestLedgerByContactEnd = ` ORDER BY created_at DESC, id DESC LIMIT 1`
)

// ContactsByPhone implements store.PhoneStore.
func (s *Store) ContactsByPhone(ctx context.Context, e164 string) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, qContactsByPhone, e164)
	if err != nil {
		return nil, s.errf("contacts by phone: %w", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.errf("contacts by phone: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("contacts by phone: %w", err)
	}
	return ids, nil
}

// LatestLedgerByContact implements store.PhoneStore.
func (s *Store) LatestLedgerByContact(ctx context.Context, contactID int64, channels []string) (store.LedgerRow, error) {
	q := qLatestLedgerByContact
	args := []any{contactID}
	if len(channels) > 0 {
		var cond string
		cond, args = in(s.d, args, channels)
		q += " AND channel " + cond
	}
	l, err := scanLedger(s.r.QueryRowContext(ctx, q+qLatestLedgerByContactEnd, args...))
	if err == sql.ErrNoRows {
		return store.LedgerRow{}, s.errf("latest ledger of contact %d: %w", contactID, store.ErrNotFound)
	}
	if err != nil {
		return store.LedgerRow{}, s.errf("latest ledger of contact %d: %w", contactID, err)
	}
	return l, nil
}
