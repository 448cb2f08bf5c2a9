package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// The policy engine's lookups for a whole batch of an expansion (its
// BatchLookup): one query per maxIDsPerQuery keys or contacts instead of
// one per send, each answering exactly as its one-at-a-time counterpart.

// SuppressedKeys returns the keys of keys on the suppression list, each
// with its most blocking reason (as Suppressed).
func (s *Store) SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(keys); start += maxIDsPerQuery {
		cond, args := in(s.d, nil, keys[start:min(start+maxIDsPerQuery, len(keys))])
		// Ordered by key then rank: the first row of each key decides.
		rows, err := s.r.QueryContext(ctx, `SELECT key, reason FROM suppressions WHERE key `+cond+` ORDER BY key, `+suppressionRank, args...)
		if err != nil {
			return nil, s.errf("suppression lookup: %w", err)
		}
		for rows.Next() {
			var k, why string
			if err := rows.Scan(&k, &why); err != nil {
				rows.Close()
				return nil, s.errf("suppression lookup: %w", err)
			}
			if _, seen := out[k]; !seen {
				out[k] = why
			}
		}
		if err := closeRows(rows); err != nil {
			return nil, s.errf("suppression lookup: %w", err)
		}
	}
	return out, nil
}

// Consents returns Consent of each of contactIDs on consentChannel for
// purpose: the recorded consent, else (marketing) the imported consent
// column, else Unknown; every id is in the map.
func (s *Store) Consents(ctx context.Context, contactIDs []int64, consentChannel, purpose string) (map[int64]contact.ConsentState, error) {
	out := make(map[int64]contact.ConsentState, len(contactIDs))
	for start := 0; start < len(contactIDs); start += maxIDsPerQuery {
		ids := contactIDs[start:min(start+maxIDsPerQuery, len(contactIDs))]
		if err := s.recordedConsents(ctx, ids, consentChannel, purpose, out); err != nil {
			return nil, s.errf("consents: %w", err)
		}
		var rest []int64
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				out[id] = contact.ConsentState{Status: contact.Unknown}
				rest = append(rest, id)
			}
		}
		if purpose != contact.PurposeMarketing || len(rest) == 0 {
			continue
		}
		if err := s.importedConsents(ctx, rest, consentChannel, out); err != nil {
			return nil, s.errf("imported consents: %w", err)
		}
	}
	return out, nil
}

// recordedConsents sets out[id] for the ids with a consent record.
func (s *Store) recordedConsents(ctx context.Context, ids []int64, consentChannel, purpose string, out map[int64]contact.ConsentState) error {
	cond, args := in(s.d, []any{consentChannel, purpose}, ids)
	rows, err := s.r.QueryContext(ctx, `SELECT contact_id, granted, source, text, at FROM consents
WHERE channel = $1 AND purpose = $2 AND contact_id `+cond, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			id      int64
			granted bool
			rec     contact.ConsentState
		)
		if err := rows.Scan(&id, &granted, &rec.Source, &rec.Text, ts(&rec.At)); err != nil {
			rows.Close()
			return err
		}
		rec.Status = contact.Refused
		if granted {
			rec.Status = contact.Granted
		}
		out[id] = rec
	}
	return closeRows(rows)
}

// importedConsents resolves out[id] of ids from the contacts' imported
// consent column.
func (s *Store) importedConsents(ctx context.Context, ids []int64, consentChannel string, out map[int64]contact.ConsentState) error {
	cond, args := in(s.d, nil, ids)
	rows, err := s.r.QueryContext(ctx, `SELECT id, consent, updated_at FROM contacts WHERE consent IS NOT NULL AND id `+cond, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			id  int64
			raw sql.NullString
			at  time.Time
		)
		if err := rows.Scan(&id, &raw, ts(&at)); err != nil {
			rows.Close()
			return err
		}
		imported, err := store.DecodeConsent([]byte(raw.String))
		if err != nil {
			rows.Close()
			return err
		}
		out[id] = contact.ResolveConsent(out[id], imported[consentChannel], contact.ImportSource, at)
	}
	return closeRows(rows)
}

// MarketingSentSinceMany returns MarketingSentSince of each of
// contactIDs that has any (the others have 0).
func (s *Store) MarketingSentSinceMany(ctx context.Context, contactIDs []int64, since time.Time) (map[int64]int, error) {
	out := map[int64]int{}
	for start := 0; start < len(contactIDs); start += maxIDsPerQuery {
		cond, args := in(s.d, []any{s.d.t(since)}, contactIDs[start:min(start+maxIDsPerQuery, len(contactIDs))])
		rows, err := s.r.QueryContext(ctx, `SELECT contact_id, count(*) FROM ledger
WHERE purpose = 'marketing' AND updated_at >= $1 AND state IN `+touchedStates+` AND contact_id `+cond+`
GROUP BY contact_id`, args...)
		if err != nil {
			return nil, s.errf("frequency cap counts: %w", err)
		}
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, s.errf("frequency cap counts: %w", err)
			}
			out[id] = n
		}
		if err := closeRows(rows); err != nil {
			return nil, s.errf("frequency cap counts: %w", err)
		}
	}
	return out, nil
}

// closeRows closes rows and returns the error that ended the iteration.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
