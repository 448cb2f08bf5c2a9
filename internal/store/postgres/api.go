package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.APIStore = (*Store)(nil)

func scanAPIKey(r pgx.Row) (store.APIKey, error) {
	var (
		k       store.APIKey
		scopes  string
		revoked *time.Time
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, &scopes, &k.CreatedAt, &revoked); err != nil {
		return store.APIKey{}, err
	}
	if scopes != "" {
		k.Scopes = strings.Split(scopes, ",")
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	return k, nil
}

// CreateAPIKey implements store.APIStore.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	tag, err := s.pool.Exec(ctx, qCreateAPIKey, k.ID, k.Name, k.Hash, strings.Join(k.Scopes, ","), k.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: create api key %s: %w", k.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: create api key %s: %w", k.ID, store.ErrAPIKeyExists)
	}
	return nil
}

// GetAPIKey implements store.APIStore.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, qGetAPIKey, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIKey{}, notFound("api key " + id)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("postgres: get api key %s: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys implements store.APIStore.
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.pool.Query(ctx, qListAPIKeys)
	if err != nil {
		return nil, fmt.Errorf("postgres: list api keys: %w", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements store.APIStore.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	tag, err := s.pool.Exec(ctx, qRevokeAPIKey, at, id)
	if err != nil {
		return fmt.Errorf("postgres: revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("api key " + id)
	}
	return nil
}

func scanIdem(r pgx.Row) (store.Idempotency, error) {
	var rec store.Idempotency
	if err := r.Scan(&rec.Scope, &rec.Key, &rec.RequestHash, &rec.Status, &rec.Response, &rec.ClaimedAt, &rec.CreatedAt); err != nil {
		return store.Idempotency{}, err
	}
	rec.ClaimedAt, rec.CreatedAt = rec.ClaimedAt.UTC(), rec.CreatedAt.UTC()
	return rec, nil
}

// ClaimIdempotency implements store.APIStore with an insert that does
// nothing on conflict, then a read and, for a stale claim, a conditional
// update: each step is atomic, so no check-then-insert race exists.
func (s *Store) ClaimIdempotency(ctx context.Context, rec store.Idempotency, staleBefore time.Time) (store.Idempotency, bool, error) {
	// PostgreSQL keeps microseconds: truncate so the returned time is the
	// stored one.
	now := s.now().Truncate(time.Microsecond)
	tag, err := s.pool.Exec(ctx, qClaimIdem, rec.Scope, rec.Key, rec.RequestHash, now)
	if err != nil {
		return store.Idempotency{}, false, fmt.Errorf("postgres: claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		rec.Status, rec.Response, rec.ClaimedAt, rec.CreatedAt = 0, nil, now, now
		return rec, true, nil
	}
	got, err := scanIdem(s.pool.QueryRow(ctx, qGetIdem, rec.Scope, rec.Key))
	if errors.Is(err, pgx.ErrNoRows) {
		// Released between our insert and read: claim it again.
		return s.ClaimIdempotency(ctx, rec, staleBefore)
	}
	if err != nil {
		return store.Idempotency{}, false, fmt.Errorf("postgres: read idempotency key: %w", err)
	}
	if got.Status != 0 || got.RequestHash != rec.RequestHash || !got.ClaimedAt.Before(staleBefore) {
		return got, false, nil
	}
	tag, err = s.pool.Exec(ctx, qTakeOverIdem, now, rec.Scope, rec.Key, rec.RequestHash, got.ClaimedAt)
	if err != nil {
		return store.Idempotency{}, false, fmt.Errorf("postgres: take over idempotency key: %w", err)
	}
	owned := tag.RowsAffected() == 1
	if owned {
		got.ClaimedAt = now
	}
	return got, owned, nil
}

// CompleteIdempotency implements store.APIStore.
func (s *Store) CompleteIdempotency(ctx context.Context, scope, key string, status int, response []byte) error {
	tag, err := s.pool.Exec(ctx, qCompleteIdem, status, response, scope, key)
	if err != nil {
		return fmt.Errorf("postgres: complete idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("idempotency key")
	}
	return nil
}

// ReleaseIdempotency implements store.APIStore.
func (s *Store) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	if _, err := s.pool.Exec(ctx, qReleaseIdem, scope, key); err != nil {
		return fmt.Errorf("postgres: release idempotency key: %w", err)
	}
	return nil
}

// InsertLedgerPayload implements store.APIStore in one transaction: the
// rows as InsertLedger inserts them, then the payload of the new ones.
func (s *Store) InsertLedgerPayload(ctx context.Context, rows []store.LedgerRow, data map[string]any) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	enc, err := store.EncodeAttrs(data)
	if err != nil {
		return 0, fmt.Errorf("postgres: insert ledger payload: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: insert ledger payload: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	now := s.now()
	total := 0
	for _, r := range rows {
		if r.ID == "" {
			r.ID = store.LedgerID(r.RunID, r.StepID, r.ContactID, r.Channel)
		}
		tag, err := tx.Exec(ctx, qInsertLedger, ledgerArrays([]store.LedgerRow{r}, now)...)
		if err != nil {
			return 0, fmt.Errorf("postgres: insert ledger (run %d): %w", r.RunID, err)
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		total++
		if _, err := tx.Exec(ctx, qInsertPayload, r.ID, enc); err != nil {
			return 0, fmt.Errorf("postgres: insert ledger payload %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: insert ledger payload: commit: %w", err)
	}
	return total, nil
}

// LedgerPayload implements store.APIStore; integers come back as int64.
func (s *Store) LedgerPayload(ctx context.Context, id string) (map[string]any, error) {
	var data string
	err := s.pool.QueryRow(ctx, qGetPayload, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("payload of ledger " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: payload of ledger %s: %w", id, err)
	}
	m, err := store.DecodeAttrs(data)
	if err != nil {
		return nil, fmt.Errorf("postgres: payload of ledger %s: %w", id, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// ResolveExternalID implements store.APIStore.
func (s *Store) ResolveExternalID(ctx context.Context, externalID string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, qResolveExternalID, externalID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("contact by external id")
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: contact by external id: %w", err)
	}
	return id, nil
}

// LastTouch implements store.APIStore.
func (s *Store) LastTouch(ctx context.Context, contactID int64, campaignID string, since time.Time) (store.LedgerRow, error) {
	l, err := scanLedger(s.pool.QueryRow(ctx, qLastTouch, contactID, campaignID, since))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LedgerRow{}, notFound(fmt.Sprintf("last touch of contact %d by %s", contactID, campaignID))
	}
	if err != nil {
		return store.LedgerRow{}, fmt.Errorf("postgres: last touch of contact %d by %s: %w", contactID, campaignID, err)
	}
	return l, nil
}
