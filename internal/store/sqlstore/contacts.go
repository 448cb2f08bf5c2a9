package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

func scanContact(r rowScanner) (*contact.Contact, error) {
	var (
		c                contact.Contact
		ext, norm, phone sql.NullString
		attrs, consent   sql.NullString
	)
	err := r.Scan(&c.ID, &ext, &c.Title, &c.FirstName, &c.LastName, &c.Company,
		&c.Email, &norm, new(bool), &phone, &c.PhoneRaw,
		&c.Address.Line1, &c.Address.Line2, &c.Address.Line3, &c.Address.Line4,
		&c.Address.Postcode, &c.Address.City, &c.Address.Country,
		&c.Locale, &c.Timezone, &c.Kind, &attrs, &consent,
		ts(&c.CreatedAt), ts(&c.UpdatedAt), ts(&c.ErasedAt))
	if err != nil {
		return nil, err
	}
	c.ExternalID, c.EmailNorm, c.Phone = ext.String, norm.String, phone.String
	if c.Attrs, err = store.DecodeAttrs(attrs.String); err != nil {
		return nil, fmt.Errorf("contact %d: %w", c.ID, err)
	}
	if consent.Valid {
		if c.Consent, err = store.DecodeConsent([]byte(consent.String)); err != nil {
			return nil, fmt.Errorf("contact %d: %w", c.ID, err)
		}
	}
	return &c, nil
}

// contactArgs returns c's column values in qInsertContact order, ending
// with the time at (the creation time, or the update time of
// qUpdateContact).
func (s *Store) contactArgs(c *contact.Contact, at time.Time) ([]any, error) {
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
		c.Locale, c.Timezone, c.Kind, attrs, consent, s.d.t(at)}, nil
}

// UpsertContacts implements store.Store in one transaction that no other
// upsert runs beside (SQLite's single writer, PostgreSQL's advisory
// lock): one query per 1,000 contacts loads every stored contact the
// batch could match, the matching rules run in Go (matcher, including
// contacts repeated within the batch), then the inserts and updates.
func (s *Store) UpsertContacts(ctx context.Context, cs []*contact.Contact) (inserted, updated int, err error) {
	if len(cs) == 0 {
		return 0, 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, s.errf("upsert contacts: begin: %w", err)
	}
	defer tx.Rollback()
	if s.d.lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
			return 0, 0, s.errf("upsert contacts: lock: %w", err)
		}
	}
	m := newMatcher()
	for start := 0; start < len(cs); start += maxIDsPerQuery {
		if err := s.loadCandidates(ctx, tx, cs[start:min(start+maxIDsPerQuery, len(cs))], m, s.d.lockRows); err != nil {
			return 0, 0, s.errf("upsert contacts: match: %w", err)
		}
	}
	of := make([]*slot, len(cs)) // the slot each input went to
	var fresh []*slot
	for i, c := range cs {
		if sl := m.match(c); sl != nil {
			sl.c, sl.dirty = store.MergeContact(sl.c, c), true
			m.add(sl) // its keys may have changed
			of[i] = sl
			updated++
			continue
		}
		cp := *c
		sl := &slot{c: &cp}
		m.add(sl)
		fresh = append(fresh, sl)
		of[i] = sl
		inserted++
	}
	if err := s.writeContacts(ctx, tx, m.slots, fresh); err != nil {
		return 0, 0, s.errf("upsert contacts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, s.errf("upsert contacts: commit: %w", err)
	}
	// IDs are set only once the batch is durable, so a failed call leaves
	// the caller's contacts as they were.
	for i, c := range cs {
		c.ID = of[i].id
	}
	return inserted, updated, nil
}

// MatchContacts sets the ID of each of cs that matches a stored contact
// by UpsertContacts' rules, and leaves the others at 0; it writes
// nothing. A plan uses it so that it decides with the consent and
// suppressions the run will see, without importing the audience.
func (s *Store) MatchContacts(ctx context.Context, cs []*contact.Contact) error {
	m := newMatcher()
	for start := 0; start < len(cs); start += maxIDsPerQuery {
		if err := s.loadCandidates(ctx, s.r, cs[start:min(start+maxIDsPerQuery, len(cs))], m, ""); err != nil {
			return s.errf("match contacts: %w", err)
		}
	}
	for _, c := range cs {
		c.ID = 0
		if sl := m.match(c); sl != nil {
			c.ID = sl.id
		}
	}
	return nil
}

// queryer is a transaction or a pool.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadCandidates adds to m the stored contacts sharing a matching key with
// one of cs; lock is the dialect's row-locking suffix when the caller
// writes them (UpsertContacts), "" for a read-only match.
func (s *Store) loadCandidates(ctx context.Context, tx queryer, cs []*contact.Contact, m *matcher, lock string) error {
	var exts, emails, phones []string
	for _, c := range cs {
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
	var q string
	var args []any
	if pq := s.d.sql["matchCandidates"]; pq != "" {
		q, args = pq+lock, []any{exts, emails, phones}
	} else {
		var inExt, inEmail, inPhone string
		inExt, args = in(s.d, nil, exts)
		inEmail, args = in(s.d, args, emails)
		inPhone, args = in(s.d, args, phones)
		// No ORDER BY: SQLite would then walk the whole table in id order
		// instead of using the three indexes; the matcher orders by id.
		q = qMatchCandidates + "external_id " + inExt + " OR email_norm " + inEmail + " OR phone " + inPhone + lock
	}
	rows, err := tx.QueryContext(ctx, q, append(append([]any(nil), s.d.exact...), args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return err
		}
		m.add(&slot{id: c.ID, c: c})
	}
	return rows.Err()
}

// writeContacts updates the changed stored slots and inserts the fresh
// ones, setting their ids: with the dialect's bulk statements when it has
// them (PostgreSQL); else (SQLite) one prepared statement per updated
// contact and multi-row inserts of the new ones.
func (s *Store) writeContacts(ctx context.Context, tx *sql.Tx, slots, fresh []*slot) error {
	now := s.now()
	var (
		upd             []*slot
		updArgs, frArgs [][]any
	)
	for _, sl := range slots {
		if sl.id == 0 || !sl.dirty {
			continue
		}
		args, err := s.contactArgs(sl.c, now)
		if err != nil {
			return fmt.Errorf("contact %d: %w", sl.id, err)
		}
		upd, updArgs = append(upd, sl), append(updArgs, args)
	}
	for i, sl := range fresh {
		args, err := s.contactArgs(sl.c, now)
		if err != nil {
			return fmt.Errorf("new contact #%d: %w", i, err)
		}
		frArgs = append(frArgs, args)
	}
	if s.d.writeContacts != nil {
		return s.d.writeContacts(ctx, tx, upd, fresh, updArgs, frArgs, now)
	}
	st := tx.StmtContext(ctx, s.updContact)
	for i, sl := range upd {
		if _, err := st.ExecContext(ctx, append(updArgs[i], sl.id)...); err != nil {
			return fmt.Errorf("update contact %d: %w", sl.id, err)
		}
	}
	return s.insertContactsWithIDs(ctx, tx, fresh, frArgs, now)
}

// sqliteContactChunk rows per INSERT keeps 25 × 1000 placeholders under
// SQLite's 32,766-variable limit.
const sqliteContactChunk = 1000

// insertContactsWithIDs inserts fresh in multi-row statements with ids
// it assigns itself: the next ones after the table's largest, which is
// what SQLite would have chosen, and safe because the transaction holds
// the database's single write lock from its start (BEGIN IMMEDIATE).
func (s *Store) insertContactsWithIDs(ctx context.Context, tx *sql.Tx, fresh []*slot, frArgs [][]any, now time.Time) error {
	if len(fresh) == 0 {
		return nil
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM contacts`).Scan(&next); err != nil {
		return fmt.Errorf("insert contacts: next id: %w", err)
	}
	head := strings.Replace(qInsertContact, "INSERT INTO contacts (", "INSERT INTO contacts (id, ", 1)
	head = head[:strings.Index(head, "VALUES")] + "VALUES "
	cols := len(frArgs[0]) + 2 // id, the columns, updated_at
	for start := 0; start < len(fresh); start += sqliteContactChunk {
		end := min(start+sqliteContactChunk, len(fresh))
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			next++
			fresh[i].id = next
			args = append(append(append(args, next), frArgs[i]...), s.d.t(now))
		}
		if _, err := tx.ExecContext(ctx, head+values(end-start, cols), args...); err != nil {
			for i := start; i < end; i++ {
				fresh[i].id = 0
			}
			return fmt.Errorf("insert contacts #%d–%d: %w", start, end-1, err)
		}
	}
	return nil
}

// GetContact implements store.Store.
func (s *Store) GetContact(ctx context.Context, id int64) (*contact.Contact, error) {
	c, err := scanContact(s.getContact.QueryRowContext(ctx, id))
	if err == sql.ErrNoRows {
		return nil, s.notFound("contact %d", id)
	}
	if err != nil {
		return nil, s.errf("get contact %d: %w", id, err)
	}
	return c, nil
}

// maxIDsPerQuery keeps list parameters far below SQLite's variable limit.
const maxIDsPerQuery = 1000

// GetContactsByID implements store.Store.
func (s *Store) GetContactsByID(ctx context.Context, ids []int64) (map[int64]*contact.Contact, error) {
	out := make(map[int64]*contact.Contact, len(ids))
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		cond, args := in(s.d, nil, ids[start:min(start+maxIDsPerQuery, len(ids))])
		if err := s.queryContacts(ctx, qGetContactsByID+cond, args, func(c *contact.Contact) { out[c.ID] = c }); err != nil {
			return nil, s.errf("get contacts: %w", err)
		}
	}
	return out, nil
}

// ScanContacts implements store.Store. A limit ≤ 0 means 1000.
func (s *Store) ScanContacts(ctx context.Context, afterID int64, limit int) ([]*contact.Contact, error) {
	if limit <= 0 {
		limit = 1000
	}
	out := make([]*contact.Contact, 0, min(limit, 10000))
	if err := s.queryContacts(ctx, qScanContacts, []any{afterID, limit}, func(c *contact.Contact) { out = append(out, c) }); err != nil {
		return nil, s.errf("scan contacts: %w", err)
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
