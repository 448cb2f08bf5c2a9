package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanContact(r rowScanner) (*contact.Contact, error) {
	var (
		c                contact.Contact
		ext, norm, phone sql.NullString
		valid            bool
		attrs            string
		consent          sql.NullString
		created, updated string
		erased           sql.NullString
	)
	err := r.Scan(&c.ID, &ext, &c.Title, &c.FirstName, &c.LastName, &c.Company,
		&c.Email, &norm, &valid, &phone, &c.PhoneRaw,
		&c.Address.Line1, &c.Address.Line2, &c.Address.Line3, &c.Address.Line4,
		&c.Address.Postcode, &c.Address.City, &c.Address.Country,
		&c.Locale, &c.Timezone, &c.Kind, &attrs, &consent, &created, &updated, &erased)
	if err != nil {
		return nil, err
	}
	c.ExternalID, c.EmailNorm, c.Phone = ext.String, norm.String, phone.String
	if c.Attrs, err = store.DecodeAttrs(attrs); err != nil {
		return nil, fmt.Errorf("contact %d: %w", c.ID, err)
	}
	if consent.Valid {
		if c.Consent, err = store.DecodeConsent([]byte(consent.String)); err != nil {
			return nil, fmt.Errorf("contact %d: %w", c.ID, err)
		}
	}
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if c.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if c.ErasedAt, err = parseNullTime(erased); err != nil {
		return nil, err
	}
	return &c, nil
}

// contactArgs returns c's column values in qInsertContact order (without
// the timestamps).
func contactArgs(c *contact.Contact) ([]any, error) {
	attrs, err := store.EncodeAttrs(c.Attrs)
	if err != nil {
		return nil, err
	}
	consent, err := store.EncodeConsent(c.Consent)
	if err != nil {
		return nil, err
	}
	return []any{nullStr(c.ExternalID), c.Title, c.FirstName, c.LastName, c.Company,
		c.Email, nullStr(c.EmailNorm), c.EmailNorm != "", nullStr(c.Phone), c.PhoneRaw,
		c.Address.Line1, c.Address.Line2, c.Address.Line3, c.Address.Line4,
		c.Address.Postcode, c.Address.City, c.Address.Country,
		c.Locale, c.Timezone, c.Kind, attrs, consent}, nil
}

// UpsertContacts implements store.Store in one IMMEDIATE transaction, so a
// batch is matched against a database no other writer changes meanwhile
// and contacts repeated within the batch match their earlier copy.
func (s *Store) UpsertContacts(ctx context.Context, cs []*contact.Contact) (inserted, updated int, err error) {
	if len(cs) == 0 {
		return 0, 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert contacts: begin: %w", err)
	}
	defer tx.Rollback()
	ins, upd := tx.StmtContext(ctx, s.insContact), tx.StmtContext(ctx, s.updContact)
	byExt, byEmail, byPhone := tx.StmtContext(ctx, s.byExt), tx.StmtContext(ctx, s.byEmail), tx.StmtContext(ctx, s.byPhone)
	hot, err := existingKeys(ctx, tx, cs)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert contacts: %w", err)
	}
	now := fmtTime(s.now())
	ids := make([]int64, len(cs))
	for i, c := range cs {
		var old *contact.Contact
		if hot.any(c) {
			if old, err = match(ctx, byExt, byEmail, byPhone, c); err != nil {
				return 0, 0, fmt.Errorf("sqlite: upsert contacts: match #%d: %w", i, err)
			}
		}
		// A later contact of the batch may match this one.
		hot.add(c.ExternalID, c.EmailNorm, c.Phone)
		if old == nil {
			args, err := contactArgs(c)
			if err != nil {
				return 0, 0, fmt.Errorf("sqlite: upsert contacts: #%d: %w", i, err)
			}
			res, err := ins.ExecContext(ctx, append(args, now, now)...)
			if err != nil {
				return 0, 0, fmt.Errorf("sqlite: upsert contacts: insert #%d: %w", i, err)
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return 0, 0, fmt.Errorf("sqlite: upsert contacts: insert #%d: %w", i, err)
			}
			inserted++
			continue
		}
		args, err := contactArgs(store.MergeContact(old, c))
		if err != nil {
			return 0, 0, fmt.Errorf("sqlite: upsert contacts: #%d: %w", i, err)
		}
		if _, err := upd.ExecContext(ctx, append(args, now, old.ID)...); err != nil {
			return 0, 0, fmt.Errorf("sqlite: upsert contacts: update contact %d: %w", old.ID, err)
		}
		ids[i] = old.ID
		updated++
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert contacts: commit: %w", err)
	}
	// IDs are set only once the batch is durable, so a failed call leaves
	// the caller's contacts as they were.
	for i, c := range cs {
		c.ID = ids[i]
	}
	return inserted, updated, nil
}

// keySet holds matching keys present in the database (or written earlier
// in the batch); a contact none of whose keys is in it cannot match.
type keySet map[string]struct{}

func (k keySet) add(ext, email, phone string) {
	if ext != "" {
		k["x"+ext] = struct{}{}
	}
	if email != "" {
		k["e"+email] = struct{}{}
	}
	if phone != "" {
		k["p"+phone] = struct{}{}
	}
}

func (k keySet) any(c *contact.Contact) bool {
	for _, key := range [...]string{"x" + c.ExternalID, "e" + c.EmailNorm, "p" + c.Phone} {
		if len(key) > 1 {
			if _, ok := k[key]; ok {
				return true
			}
		}
	}
	return false
}

// existingKeys returns which matching keys of cs are already stored, with
// one query per 1,000 contacts instead of up to three per contact.
func existingKeys(ctx context.Context, tx *sql.Tx, cs []*contact.Contact) (keySet, error) {
	hot := keySet{}
	for start := 0; start < len(cs); start += maxIDsPerQuery {
		chunk := cs[start:min(start+maxIDsPerQuery, len(cs))]
		var exts, emails, phones []any
		for _, c := range chunk {
			if c.ExternalID != "" {
				exts = append(exts, c.ExternalID)
			}
			if c.EmailNorm != "" {
				emails = append(emails, c.EmailNorm)
			}
			if c.Phone != "" {
				phones = append(phones, c.Phone)
			}
		}
		// An empty IN () is valid SQLite and matches nothing.
		q := qContactKeys + "(" + placeholders(len(exts)) + ") OR email_norm IN (" +
			placeholders(len(emails)) + ") OR phone IN (" + placeholders(len(phones)) + ")"
		rows, err := tx.QueryContext(ctx, q, append(append(exts, emails...), phones...)...)
		if err != nil {
			return nil, fmt.Errorf("existing keys: %w", err)
		}
		for rows.Next() {
			var ext, email, phone sql.NullString
			if err := rows.Scan(&ext, &email, &phone); err != nil {
				rows.Close()
				return nil, fmt.Errorf("existing keys: %w", err)
			}
			hot.add(ext.String, email.String, phone.String)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("existing keys: %w", err)
		}
	}
	return hot, nil
}

// match finds the stored contact c updates, or nil.
func match(ctx context.Context, byExt, byEmail, byPhone *sql.Stmt, c *contact.Contact) (*contact.Contact, error) {
	try := func(st *sql.Stmt, args ...any) (*contact.Contact, error) {
		old, err := scanContact(st.QueryRowContext(ctx, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return old, err
	}
	if c.ExternalID != "" {
		if old, err := try(byExt, c.ExternalID); old != nil || err != nil {
			return old, err
		}
	}
	if c.EmailNorm != "" {
		if old, err := try(byEmail, c.EmailNorm, c.ExternalID); old != nil || err != nil {
			return old, err
		}
	}
	if c.Phone != "" {
		return try(byPhone, c.Phone, c.ExternalID)
	}
	return nil, nil
}

// GetContact implements store.Store.
func (s *Store) GetContact(ctx context.Context, id int64) (*contact.Contact, error) {
	c, err := scanContact(s.getContact.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: contact %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get contact %d: %w", id, err)
	}
	return c, nil
}

// maxIDsPerQuery keeps IN lists far below SQLite's variable limit.
const maxIDsPerQuery = 1000

// GetContactsByID implements store.Store.
func (s *Store) GetContactsByID(ctx context.Context, ids []int64) (map[int64]*contact.Contact, error) {
	out := make(map[int64]*contact.Contact, len(ids))
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := qGetContactsByID + "(" + placeholders(len(chunk)) + ")"
		if err := s.queryContacts(ctx, q, args, func(c *contact.Contact) { out[c.ID] = c }); err != nil {
			return nil, fmt.Errorf("sqlite: get contacts: %w", err)
		}
	}
	return out, nil
}

// ScanContacts implements store.Store. A limit ≤ 0 means 1000.
func (s *Store) ScanContacts(ctx context.Context, afterID int64, limit int) ([]*contact.Contact, error) {
	if limit <= 0 {
		limit = 1000
	}
	out := make([]*contact.Contact, 0, limit)
	if err := s.queryContacts(ctx, qScanContacts, []any{afterID, limit}, func(c *contact.Contact) { out = append(out, c) }); err != nil {
		return nil, fmt.Errorf("sqlite: scan contacts: %w", err)
	}
	return out, nil
}

func (s *Store) queryContacts(ctx context.Context, q string, args []any, fn func(*contact.Contact)) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return err
		}
		fn(c)
	}
	return rows.Err()
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
