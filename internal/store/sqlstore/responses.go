package sqlstore

import (
	"context"
	"database/sql"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.ResponseStore = (*Store)(nil)

const (
	qSaveResponseCode = `INSERT INTO response_codes (code, ledger_id) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING`
	qResponseCode     = `SELECT ledger_id FROM response_codes WHERE code = $1`
)

// SaveResponseCode implements store.ResponseStore.
func (s *Store) SaveResponseCode(ctx context.Context, code, ledgerID string) error {
	if _, err := s.w.ExecContext(ctx, qSaveResponseCode, code, ledgerID); err != nil {
		return s.errf("save response code: %w", err)
	}
	return nil
}

// LedgerByResponseCode implements store.ResponseStore.
func (s *Store) LedgerByResponseCode(ctx context.Context, code string) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, qResponseCode, code).Scan(&id)
	if err == sql.ErrNoRows {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", s.errf("response code lookup: %w", err)
	}
	return id, nil
}
