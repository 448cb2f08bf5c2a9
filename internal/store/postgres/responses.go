package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.ResponseStore = (*Store)(nil)

const (
	qSaveResponseCode = `INSERT INTO response_codes (code, ledger_id) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING`
	qResponseCode     = `SELECT ledger_id FROM response_codes WHERE code = $1`
)

// SaveResponseCode implements store.ResponseStore.
func (s *Store) SaveResponseCode(ctx context.Context, code, ledgerID string) error {
	if _, err := s.pool.Exec(ctx, qSaveResponseCode, code, ledgerID); err != nil {
		return fmt.Errorf("postgres: save response code: %w", err)
	}
	return nil
}

// LedgerByResponseCode implements store.ResponseStore.
func (s *Store) LedgerByResponseCode(ctx context.Context, code string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, qResponseCode, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("postgres: response code lookup: %w", err)
	}
	return id, nil
}
