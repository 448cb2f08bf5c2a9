package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.APIStore = (*Store)(nil)

func scanAPIKey(r rowScanner) (store.APIKey, error) {
	var (
		k      store.APIKey
		scopes string
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, &scopes, ts(&k.CreatedAt), ts(&k.RevokedAt)); err != nil {
		return store.APIKey{}, err
	}
	if scopes != "" {
		k.Scopes = strings.Split(scopes, ",")
	}
	return k, nil
}

// CreateAPIKey implements store.APIStore.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	res, err := s.w.ExecContext(ctx, qCreateAPIKey, k.ID, k.Name, k.Hash, strings.Join(k.Scopes, ","), s.d.t(k.CreatedAt))
	if err != nil {
		return s.errf("create api key %s: %w", k.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.errf("create api key %s: %w", k.ID, err)
	} else if n == 0 {
		return s.errf("create api key %s: %w", k.ID, store.ErrAPIKeyExists)
	}
	return nil
}

// GetAPIKey implements store.APIStore.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, qGetAPIKey, id))
	if err == sql.ErrNoRows {
		return store.APIKey{}, s.errf("api key %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, s.errf("get api key %s: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys implements store.APIStore.
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	return queryAll(ctx, s, "list api keys", scanAPIKey, qListAPIKeys)
}

// RevokeAPIKey implements store.APIStore.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	res, err := s.w.ExecContext(ctx, qRevokeAPIKey, s.d.t(at), id)
	if err != nil {
		return s.errf("revoke api key %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.errf("revoke api key %s: %w", id, err)
	} else if n == 0 {
		return s.errf("api key %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// scanIdem also returns claimed_at as stored, for the conditional
// takeover to compare it exactly.
func scanIdem(r rowScanner) (store.Idempotency, any, error) {
	var (
		rec     store.Idempotency
		claimed rawTime
	)
	if err := r.Scan(&rec.Scope, &rec.Key, &rec.RequestHash, &rec.Status, &rec.Response, &claimed, ts(&rec.CreatedAt)); err != nil {
		return store.Idempotency{}, nil, err
	}
	if err := ts(&rec.ClaimedAt).Scan(claimed.v); err != nil {
		return store.Idempotency{}, nil, err
	}
	return rec, claimed.v, nil
}

// rawTime keeps a scanned timestamp as the driver returned it.
type rawTime struct{ v any }

// Scan implements sql.Scanner.
func (r *rawTime) Scan(src any) error {
	if b, ok := src.([]byte); ok {
		src = string(b)
	}
	r.v = src
	return nil
}

// ClaimIdempotency implements store.APIStore with an insert that does
// nothing on conflict, then a read and, for a stale claim, a conditional
// update: each step is atomic, so no check-then-insert race exists.
func (s *Store) ClaimIdempotency(ctx context.Context, rec store.Idempotency, staleBefore time.Time) (store.Idempotency, bool, error) {
	now := s.now()
	res, err := s.w.ExecContext(ctx, qClaimIdem, rec.Scope, rec.Key, rec.RequestHash, s.d.t(now), s.d.t(now))
	if err != nil {
		return store.Idempotency{}, false, s.errf("claim idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Idempotency{}, false, s.errf("claim idempotency key: %w", err)
	} else if n == 1 {
		rec.Status, rec.Response, rec.ClaimedAt, rec.CreatedAt = 0, nil, now, now
		return rec, true, nil
	}
	got, claimedText, err := scanIdem(s.w.QueryRowContext(ctx, qGetIdem, rec.Scope, rec.Key))
	if err == sql.ErrNoRows {
		// Released between our insert and read: claim it again.
		return s.ClaimIdempotency(ctx, rec, staleBefore)
	}
	if err != nil {
		return store.Idempotency{}, false, s.errf("read idempotency key: %w", err)
	}
	if got.Status != 0 || got.RequestHash != rec.RequestHash || !got.ClaimedAt.Before(staleBefore) {
		return got, false, nil
	}
	res, err = s.w.ExecContext(ctx, qTakeOverIdem, s.d.t(now), rec.Scope, rec.Key, rec.RequestHash, claimedText)
	if err != nil {
		return store.Idempotency{}, false, s.errf("take over idempotency key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Idempotency{}, false, s.errf("take over idempotency key: %w", err)
	}
	if n == 1 {
		got.ClaimedAt = now
	}
	return got, n == 1, nil
}

// CompleteIdempotency implements store.APIStore.
func (s *Store) CompleteIdempotency(ctx context.Context, scope, key string, status int, response []byte) error {
	res, err := s.w.ExecContext(ctx, qCompleteIdem, status, response, scope, key)
	if err != nil {
		return s.errf("complete idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.errf("complete idempotency key: %w", err)
	} else if n == 0 {
		return s.errf("idempotency key: %w", store.ErrNotFound)
	}
	return nil
}

// ReleaseIdempotency implements store.APIStore.
func (s *Store) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	if _, err := s.w.ExecContext(ctx, qReleaseIdem, scope, key); err != nil {
		return s.errf("release idempotency key: %w", err)
	}
	return nil
}

// InsertLedgerPayload implements store.APIStore, one row at a time (API
// sends write a handful) so that only new rows get the payload.
func (s *Store) InsertLedgerPayload(ctx context.Context, rows []store.LedgerRow, data map[string]any) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	enc, err := store.EncodeAttrs(data)
	if err != nil {
		return 0, s.errf("insert ledger payload: %w", err)
	}
	now := s.now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errf("insert ledger payload: begin: %w", err)
	}
	defer tx.Rollback()
	total := 0
	for _, r := range rows {
		if r.ID == "" {
			r.ID = store.LedgerID(r.RunID, r.StepID, r.ContactID, r.Channel)
		}
		n, err := s.d.insertLedger(ctx, tx, []store.LedgerRow{r}, now)
		if err != nil {
			return 0, s.errf("insert ledger (run %d): %w", r.RunID, err)
		}
		if n == 0 {
			continue
		}
		total++
		if _, err := tx.ExecContext(ctx, qInsertPayload, r.ID, enc); err != nil {
			return 0, s.errf("insert ledger payload %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, s.errf("insert ledger payload: commit: %w", err)
	}
	return total, nil
}

// LedgerPayload implements store.APIStore; integers come back as int64.
func (s *Store) LedgerPayload(ctx context.Context, id string) (map[string]any, error) {
	var data string
	err := s.r.QueryRowContext(ctx, qGetPayload, id).Scan(&data)
	if err == sql.ErrNoRows {
		return nil, s.errf("payload of ledger %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.errf("payload of ledger %s: %w", id, err)
	}
	m, err := store.DecodeAttrs(data)
	if err != nil {
		return nil, s.errf("payload of ledger %s: %w", id, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// LedgerPayloads implements store.APIStore.
func (s *Store) LedgerPayloads(ctx context.Context, ids []string) (map[string]map[string]any, error) {
	out := make(map[string]map[string]any)
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		cond, args := in(s.d, nil, ids[start:min(start+maxIDsPerQuery, len(ids))])
		type payload struct{ id, data string }
		ps, err := queryAll(ctx, s, "payloads of ledger rows", func(r rowScanner) (payload, error) {
			var p payload
			return p, r.Scan(&p.id, &p.data)
		}, qGetPayloads+cond, args...)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			m, err := store.DecodeAttrs(p.data)
			if err != nil {
				return nil, s.errf("payload of ledger %s: %w", p.id, err)
			}
			if m == nil {
				m = map[string]any{}
			}
			out[p.id] = m
		}
	}
	return out, nil
}

// ResolveExternalID implements store.APIStore.
func (s *Store) ResolveExternalID(ctx context.Context, externalID string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, qResolveExternalID, externalID).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, s.errf("contact by external id: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, s.errf("contact by external id: %w", err)
	}
	return id, nil
}

// LastTouch implements store.APIStore.
func (s *Store) LastTouch(ctx context.Context, contactID int64, campaignID string, since time.Time) (store.LedgerRow, error) {
	l, err := scanLedger(s.r.QueryRowContext(ctx, qLastTouch+s.d.sql["lastTouchOrder"], contactID, campaignID, s.d.t(since)))
	if err == sql.ErrNoRows {
		return store.LedgerRow{}, s.errf("last touch of contact %d by %s: %w", contactID, campaignID, store.ErrNotFound)
	}
	if err != nil {
		return store.LedgerRow{}, s.errf("last touch of contact %d by %s: %w", contactID, campaignID, err)
	}
	return l, nil
}
