package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// The statements of the batched send path (store.BatchStore): each reads
// or writes every row of a batch at once.

// claimable are the states ClaimLedger moves to claimed.
var claimable = []string{string(store.Planned), string(store.Deferred), string(store.Claimed)}

// qClaimLedger is completed with "AND state <in> AND id <in> RETURNING …".
const qClaimLedger = `UPDATE ledger SET state = 'claimed', attempts = attempts + 1, updated_at = $1 WHERE TRUE`

// ClaimLedger implements store.BatchStore with one UPDATE … RETURNING.
func (s *Store) ClaimLedger(ctx context.Context, ids []string) ([]store.LedgerRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]store.LedgerRow, 0, len(ids))
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		args := []any{s.d.t(s.now())}
		st, args := in(s.d, args, claimable)
		id, args := in(s.d, args, ids[start:min(start+maxIDsPerQuery, len(ids))])
		q := qClaimLedger + " AND state " + st + " AND id " + id + " RETURNING " + ledgerCols
		if err := s.queryW(ctx, q, args, func(r *sql.Rows) error {
			l, err := scanLedger(r)
			out = append(out, l)
			return err
		}); err != nil {
			return nil, s.errf("claim %d ledger rows: %w", len(ids), err)
		}
	}
	return out, nil
}

// qSettle is the statement of Settle: the rows' changes are one JSON
// array parameter, so the statement is the same whatever their number and
// is prepared once.
func qSettle(d *dialect) string {
	return `UPDATE ledger SET state = $1,
	reason = CASE WHEN v.reason = '' THEN ledger.reason ELSE v.reason END,
	provider_id = COALESCE(v.provider_id, ledger.provider_id),
	error = CASE WHEN v.error = '' THEN ledger.error ELSE v.error END,
	segments = CASE WHEN v.segments = 0 THEN ledger.segments ELSE v.segments END,
	updated_at = $2
FROM ` + d.sql["settleRows"] + `
WHERE ledger.id = v.id AND ledger.state IN ` + d.sql["settleStates"] + `
RETURNING ledger.id`
}

// settleRow is one row of Settle's JSON parameter.
type settleRow struct {
	ID         string  `json:"id"`
	Reason     string  `json:"reason"`
	ProviderID *string `json:"provider_id"`
	Error      string  `json:"error"`
	Segments   int     `json:"segments"`
}

// Settle implements store.BatchStore with one UPDATE … FROM the rows'
// changes.
func (s *Store) Settle(ctx context.Context, from []store.State, to store.State, outs []store.Outcome) ([]string, error) {
	if len(outs) == 0 || len(from) == 0 {
		return nil, nil
	}
	return s.settleWith(ctx, s.settle, store.Settlement{From: from, To: to, Outs: outs})
}

// SettleAll implements store.BatchStore: one Settle statement per
// settlement, in one transaction, so that concurrent sends' transitions
// of different kinds cost one commit.
func (s *Store) SettleAll(ctx context.Context, sets []store.Settlement) ([][]string, error) {
	out := make([][]string, len(sets))
	var todo []int
	for i, st := range sets {
		if len(st.Outs) > 0 && len(st.From) > 0 {
			todo = append(todo, i)
		}
	}
	switch len(todo) {
	case 0:
		return out, nil
	case 1:
		moved, err := s.settleWith(ctx, s.settle, sets[todo[0]])
		out[todo[0]] = moved
		return out, err
	}
	// The statement is already prepared on the writer: on SQLite's single
	// connection, tx.StmtContext reuses it rather than preparing again.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.errf("settle: begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	st := tx.StmtContext(ctx, s.settle)
	for _, i := range todo {
		if out[i], err = s.settleWith(ctx, st, sets[i]); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.errf("settle %d transitions: commit: %w", len(todo), err)
	}
	return out, nil
}

// settleWith runs the Settle statement st for set and returns the ids
// it moved.
func (s *Store) settleWith(ctx context.Context, st *sql.Stmt, set store.Settlement) ([]string, error) {
	rows := make([]settleRow, len(set.Outs))
	for i, o := range set.Outs {
		rows[i] = settleRow{ID: o.ID, Reason: o.Reason, Error: o.Error, Segments: o.Segments}
		if o.ProviderID != "" {
			rows[i].ProviderID = &o.ProviderID
		}
	}
	changes, err := json.Marshal(rows)
	if err != nil {
		return nil, s.errf("settle: %w", err)
	}
	fromJSON, _ := json.Marshal(states(set.From)) // cannot fail: strings
	to := set.To
	res, err := st.QueryContext(ctx, string(to), s.d.t(s.now()), string(changes), string(fromJSON))
	if err != nil {
		return nil, s.errf("settle %d ledger rows → %s: %w", len(set.Outs), to, err)
	}
	defer res.Close()
	moved := make([]string, 0, len(set.Outs))
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			return moved, s.errf("settle %d ledger rows → %s: %w", len(set.Outs), to, err)
		}
		moved = append(moved, id)
	}
	if err := res.Err(); err != nil {
		return moved, s.errf("settle %d ledger rows → %s: %w", len(set.Outs), to, err)
	}
	return moved, nil
}

// queryW runs a statement returning rows on the writer, calling fn on
// each row.
func (s *Store) queryW(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.w.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// qSuppressedKeys is completed with the dialect's in(); the most blocking
// reason of a key comes first.
const qSuppressedKeys = `SELECT key, reason FROM suppressions WHERE key `

// SuppressedKeys implements store.BatchStore.
func (s *Store) SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	for start := 0; start < len(keys); start += maxIDsPerQuery {
		cond, args := in(s.d, nil, keys[start:min(start+maxIDsPerQuery, len(keys))])
		if err := s.queryR(ctx, qSuppressedKeys+cond+" ORDER BY key, "+suppressionRank, args, func(r *sql.Rows) error {
			var key, reason string
			if err := r.Scan(&key, &reason); err != nil {
				return err
			}
			if _, ok := out[key]; !ok {
				out[key] = reason
			}
			return nil
		}); err != nil {
			return nil, s.errf("suppression lookup of %d keys: %w", len(keys), err)
		}
	}
	return out, nil
}

// qConsents is completed with the dialect's in() on the contact ids: the
// recorded consent of each contact beside its imported consent column.
const qConsents = `SELECT c.id, k.granted, k.source, k.text, k.at, c.consent, c.updated_at
FROM contacts c LEFT JOIN consents k ON k.contact_id = c.id AND k.channel = $1 AND k.purpose = $2
WHERE c.id `

// Consents implements store.BatchStore with one query, resolving each
// contact's consent as Consent does.
func (s *Store) Consents(ctx context.Context, ids []int64, consentChannel, purpose string) (map[int64]contact.ConsentState, error) {
	out := make(map[int64]contact.ConsentState, len(ids))
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		cond, args := in(s.d, []any{consentChannel, purpose}, ids[start:min(start+maxIDsPerQuery, len(ids))])
		if err := s.queryR(ctx, qConsents+cond, args, func(r *sql.Rows) error {
			var (
				id           int64
				granted      sql.NullBool
				source, text sql.NullString
				at, updated  time.Time
				raw          sql.NullString
			)
			if err := r.Scan(&id, &granted, &source, &text, ts(&at), &raw, ts(&updated)); err != nil {
				return err
			}
			rec := contact.ConsentState{Source: source.String, Text: text.String, At: at}
			switch {
			case granted.Valid && granted.Bool:
				rec.Status = contact.Granted
			case granted.Valid:
				rec.Status = contact.Refused
			case purpose == contact.PurposeMarketing && raw.Valid:
				imported, err := store.DecodeConsent([]byte(raw.String))
				if err != nil {
					return err
				}
				rec = contact.ResolveConsent(rec, imported[consentChannel], contact.ImportSource, updated)
			}
			out[id] = rec
			return nil
		}); err != nil {
			return nil, s.errf("consent of %d contacts: %w", len(ids), err)
		}
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = contact.ConsentState{Status: contact.Unknown} // no such contact
		}
	}
	return out, nil
}

// marketingSentRows selects the ledger rows a frequency cap counts: the
// marketing messages that may have gone out since $1.
var marketingSentRows = `purpose = 'marketing' AND updated_at >= $1 AND state IN ` + touchedStates

// qMarketingSentSinceMany is qMarketingSentSince for several contacts,
// completed with the dialect's in() and GROUP BY.
var qMarketingSentSinceMany = `SELECT contact_id, count(*) FROM ledger WHERE ` + marketingSentRows + ` AND contact_id `

// MarketingSentSinceMany implements store.BatchStore.
func (s *Store) MarketingSentSinceMany(ctx context.Context, ids []int64, since time.Time) (map[int64]int, error) {
	out := make(map[int64]int, len(ids))
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		cond, args := in(s.d, []any{s.d.t(since)}, ids[start:min(start+maxIDsPerQuery, len(ids))])
		q := qMarketingSentSinceMany + cond + " GROUP BY contact_id"
		if pq := s.d.sql["marketingSentMany"]; pq != "" {
			q = pq // the same arguments: since, then the ids as one array
		}
		if err := s.queryR(ctx, q, args, func(r *sql.Rows) error {
			var id int64
			var n int
			err := r.Scan(&id, &n)
			out[id] = n
			return err
		}); err != nil {
			return nil, s.errf("marketing sends of %d contacts: %w", len(ids), err)
		}
	}
	return out, nil
}

// queryR runs a query on the readers, calling fn on each row.
func (s *Store) queryR(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
