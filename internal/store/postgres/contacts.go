package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

func scanContact(r pgx.Row) (*contact.Contact, error) {
	var (
		c                contact.Contact
		ext, norm, phone *string
		valid            bool
		attrs, consent   []byte
		erased           *time.Time
	)
	err := r.Scan(&c.ID, &ext, &c.Title, &c.FirstName, &c.LastName, &c.Company,
		&c.Email, &norm, &valid, &phone, &c.PhoneRaw,
		&c.Address.Line1, &c.Address.Line2, &c.Address.Line3, &c.Address.Line4,
		&c.Address.Postcode, &c.Address.City, &c.Address.Country,
		&c.Locale, &c.Timezone, &c.Kind, &attrs, &consent, &c.CreatedAt, &c.UpdatedAt, &erased)
	if err != nil {
		return nil, err
	}
	c.ExternalID, c.EmailNorm, c.Phone = deref(ext), deref(norm), deref(phone)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if erased != nil {
		c.ErasedAt = erased.UTC()
	}
	if c.Attrs, err = store.DecodeAttrs(string(attrs)); err != nil {
		return nil, fmt.Errorf("contact %d: %w", c.ID, err)
	}
	if c.Consent, err = store.DecodeConsent(consent); err != nil {
		return nil, fmt.Errorf("contact %d: %w", c.ID, err)
	}
	return &c, nil
}

// contactArgs returns c's column values in qInsertContact order, ending
// with the creation time (the update time for qUpdateContact).
func contactArgs(c *contact.Contact, at time.Time) ([]any, error) {
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
		c.Locale, c.Timezone, c.Kind, attrs, consent, at}, nil
}

// slot is one contact row the batch writes: a stored one being updated
// (id ≠ 0) or a new one (id = 0 until inserted).
type slot struct {
	id    int64
	c     *contact.Contact
	dirty bool
}

// UpsertContacts implements store.Store in one transaction and two round
// trips: one query loads every stored contact the batch could match, the
// matching and merging run in Go (with the same rules as the SQLite
// backend, including contacts repeated within the batch), and one pipelined
// batch writes the inserts and updates. An advisory lock serializes
// concurrent calls so matching sees every committed contact.
func (s *Store) UpsertContacts(ctx context.Context, cs []*contact.Contact) (inserted, updated int, err error) {
	if len(cs) == 0 {
		return 0, 0, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert contacts: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, qLockUpserts); err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert contacts: lock: %w", err)
	}
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
	m := newMatcher()
	// Exec mode (an unnamed statement) plans with the actual arrays each
	// time: the cached generic plan of this OR of three ANYs degrades to a
	// sequential scan after a few calls.
	rows, err := tx.Query(ctx, qMatchCandidates, pgx.QueryExecModeExec, exts, emails, phones)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert contacts: match: %w", err)
	}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("postgres: upsert contacts: match: %w", err)
		}
		m.add(&slot{id: c.ID, c: c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert contacts: match: %w", err)
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

	now := s.now()
	b := &pgx.Batch{}
	for _, sl := range m.slots {
		if sl.id == 0 || !sl.dirty {
			continue
		}
		args, err := contactArgs(sl.c, now)
		if err != nil {
			return 0, 0, fmt.Errorf("postgres: upsert contacts: contact %d: %w", sl.id, err)
		}
		b.Queue(qUpdateContact, append(args, sl.id)...)
	}
	for _, sl := range fresh {
		args, err := contactArgs(sl.c, now)
		if err != nil {
			return 0, 0, fmt.Errorf("postgres: upsert contacts: %w", err)
		}
		b.Queue(qInsertContact, append(args, now)...).QueryRow(func(r pgx.Row) error { return r.Scan(&sl.id) })
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert contacts: write: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert contacts: commit: %w", err)
	}
	// IDs are set only once the batch is durable, so a failed call leaves
	// the caller's contacts as they were.
	for i, c := range cs {
		c.ID = of[i].id
	}
	return inserted, updated, nil
}

// matcher indexes a batch's candidate slots by each matching key. Lists
// keep id order (stored contacts first, new ones after, as their ids will
// be), so "the first match" is the one SQLite's ORDER BY id finds.
type matcher struct {
	slots            []*slot
	seen             map[*slot]bool
	byExt            map[string]*slot
	byEmail, byPhone map[string][]*slot
}

func newMatcher() *matcher {
	return &matcher{seen: map[*slot]bool{}, byExt: map[string]*slot{},
		byEmail: map[string][]*slot{}, byPhone: map[string][]*slot{}}
}

// add indexes sl under its current keys; re-adding after a merge indexes
// new keys (stale ones are filtered out by match).
func (m *matcher) add(sl *slot) {
	if !m.seen[sl] {
		m.seen[sl] = true
		m.slots = append(m.slots, sl)
	}
	c := sl.c
	if c.ExternalID != "" {
		m.byExt[c.ExternalID] = sl
	}
	if c.EmailNorm != "" && !has(m.byEmail[c.EmailNorm], sl) {
		m.byEmail[c.EmailNorm] = insertByID(m.byEmail[c.EmailNorm], sl)
	}
	if c.Phone != "" && !has(m.byPhone[c.Phone], sl) {
		m.byPhone[c.Phone] = insertByID(m.byPhone[c.Phone], sl)
	}
}

// match applies the store.Store matching rules to c.
func (m *matcher) match(c *contact.Contact) *slot {
	if c.ExternalID != "" {
		if sl := m.byExt[c.ExternalID]; sl != nil && sl.c.ExternalID == c.ExternalID {
			return sl
		}
	}
	compatible := func(sl *slot) bool {
		return c.ExternalID == "" || sl.c.ExternalID == "" || sl.c.ExternalID == c.ExternalID
	}
	if c.EmailNorm != "" {
		for _, sl := range m.byEmail[c.EmailNorm] {
			if sl.c.EmailNorm == c.EmailNorm && compatible(sl) {
				return sl
			}
		}
	}
	if c.Phone != "" {
		for _, sl := range m.byPhone[c.Phone] {
			if sl.c.Phone == c.Phone && compatible(sl) {
				return sl
			}
		}
	}
	return nil
}

func has(list []*slot, sl *slot) bool {
	for _, x := range list {
		if x == sl {
			return true
		}
	}
	return false
}

// insertByID keeps stored slots (by id) before new ones (in batch order).
func insertByID(list []*slot, sl *slot) []*slot {
	if sl.id == 0 {
		return append(list, sl)
	}
	i := 0
	for i < len(list) && list[i].id != 0 && list[i].id < sl.id {
		i++
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = sl
	return list
}

// GetContact implements store.Store.
func (s *Store) GetContact(ctx context.Context, id int64) (*contact.Contact, error) {
	c, err := scanContact(s.pool.QueryRow(ctx, qGetContact, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(fmt.Sprintf("contact %d", id))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get contact %d: %w", id, err)
	}
	return c, nil
}

// GetContactsByID implements store.Store.
func (s *Store) GetContactsByID(ctx context.Context, ids []int64) (map[int64]*contact.Contact, error) {
	out := make(map[int64]*contact.Contact, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if err := s.queryContacts(ctx, qGetContactsByID, []any{ids}, func(c *contact.Contact) { out[c.ID] = c }); err != nil {
		return nil, fmt.Errorf("postgres: get contacts: %w", err)
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
		return nil, fmt.Errorf("postgres: scan contacts: %w", err)
	}
	return out, nil
}

func (s *Store) queryContacts(ctx context.Context, q string, args []any, fn func(*contact.Contact)) error {
	rows, err := s.pool.Query(ctx, q, args...)
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

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
