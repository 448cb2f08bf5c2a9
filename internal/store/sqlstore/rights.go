package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

var _ store.RightsStore = (*Store)(nil)

// FindContacts implements store.RightsStore.
func (s *Store) FindContacts(ctx context.Context, ref string) ([]*contact.Contact, error) {
	ext, email, phone := store.RefKeys(ref)
	var out []*contact.Contact
	if err := s.queryContacts(ctx, qFindContacts, []any{ext, email, phone}, func(c *contact.Contact) { out = append(out, c) }); err != nil {
		return nil, s.errf("find contacts: %w", err)
	}
	return out, nil
}

// ListConsents implements store.RightsStore.
func (s *Store) ListConsents(ctx context.Context, contactID int64) ([]store.ConsentRecord, error) {
	rows, err := s.r.QueryContext(ctx, qListConsents, contactID)
	if err != nil {
		return nil, s.errf("consents of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	var out []store.ConsentRecord
	for rows.Next() {
		var r store.ConsentRecord
		if err := rows.Scan(&r.ContactID, &r.Channel, &r.Purpose, &r.Granted, &r.Source, &r.Text, ts(&r.At)); err != nil {
			return nil, s.errf("consents of contact %d: %w", contactID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("consents of contact %d: %w", contactID, err)
	}
	return out, nil
}

// ImportConsents implements store.RightsStore in one transaction.
func (s *Store) ImportConsents(ctx context.Context, recs []store.ConsentRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errf("import consents: begin: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, qImportConsent)
	if err != nil {
		return 0, s.errf("import consents: %w", err)
	}
	defer st.Close()
	now := s.now()
	n := 0
	for _, r := range recs {
		at := r.At
		if at.IsZero() {
			at = now
		}
		res, err := st.ExecContext(ctx, r.ContactID, r.Channel, r.Purpose, r.Granted, r.Source, r.Text, s.d.t(at))
		if err != nil {
			return 0, s.errf("import consent of contact %d: %w", r.ContactID, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, s.errf("import consent of contact %d: %w", r.ContactID, err)
		}
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.errf("import consents: commit: %w", err)
	}
	return n, nil
}

// ContactLedger implements store.RightsStore.
func (s *Store) ContactLedger(ctx context.Context, contactID int64) ([]store.LedgerRow, error) {
	return queryAll(ctx, s, fmt.Sprintf("ledger of contact %d", contactID), scanLedger, qContactLedger, contactID)
}

// ContactEvents implements store.RightsStore.
func (s *Store) ContactEvents(ctx context.Context, contactID int64) ([]store.Event, error) {
	return queryAll(ctx, s, fmt.Sprintf("events of contact %d", contactID), scanEvent, qContactEvents, contactID)
}

// EraseContact implements store.RightsStore. On SQLite the writer
// connection runs with secure_delete so the blanked values are
// overwritten with zeros in the file rather than left in free space, and
// the WAL is checkpointed and truncated afterwards so no older page image
// keeps a copy either (the dialect's "eraseBefore" and "eraseAfter").
func (s *Store) EraseContact(ctx context.Context, contactID int64, keys func(*contact.Contact) []string, at time.Time) (bool, error) {
	if q := s.d.sql["eraseBefore"]; q != "" {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return false, s.errf("erase contact %d: prepare: %w", contactID, err)
		}
	}
	erased, err := s.eraseTx(ctx, contactID, keys, at)
	if err != nil || !erased {
		return erased, err
	}
	if q := s.d.sql["eraseAfter"]; q != "" {
		// Best effort: a reader holding an old snapshot can keep the WAL
		// from being truncated now; the next checkpoint overwrites it.
		_, _ = s.w.ExecContext(ctx, q)
	}
	return true, nil
}

func (s *Store) eraseTx(ctx context.Context, contactID int64, keys func(*contact.Contact) []string, at time.Time) (bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, s.errf("erase contact %d: begin: %w", contactID, err)
	}
	defer tx.Rollback()
	c, err := scanContact(tx.QueryRowContext(ctx, qContactForErase+s.d.lockRows, contactID))
	if err == sql.ErrNoRows {
		return false, s.errf("erase contact %d: %w", contactID, store.ErrNotFound)
	}
	if err != nil {
		return false, s.errf("erase contact %d: %w", contactID, err)
	}
	if !c.ErasedAt.IsZero() {
		return false, nil
	}
	ts := s.d.t(at)
	for _, k := range keys(c) {
		if _, err := tx.ExecContext(ctx, qSuppress, k, contact.SuppressErased, ts); err != nil {
			return false, s.errf("erase contact %d: suppress: %w", contactID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, qEraseContact, ts, contactID); err != nil {
		return false, s.errf("erase contact %d: %w", contactID, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.sql["eraseEvents"], contactID); err != nil {
		return false, s.errf("erase contact %d: events: %w", contactID, err)
	}
	if err := scrubClickURLs(ctx, tx, c); err != nil {
		return false, s.errf("erase contact %d: clicked URLs: %w", contactID, err)
	}
	var payloads bool
	if err := tx.QueryRowContext(ctx, s.d.sql["hasPayloads"]).Scan(&payloads); err != nil {
		return false, s.errf("erase contact %d: %w", contactID, err)
	}
	if payloads {
		if _, err := tx.ExecContext(ctx, qErasePayloads, contactID); err != nil {
			return false, s.errf("erase contact %d: payloads: %w", contactID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, s.errf("erase contact %d: commit: %w", contactID, err)
	}
	return true, nil
}

// InactiveContacts implements store.RightsStore.
func (s *Store) InactiveContacts(ctx context.Context, since time.Time, afterID int64, limit int) ([]*contact.Contact, error) {
	if limit <= 0 {
		limit = 1000
	}
	var out []*contact.Contact
	if err := s.queryContacts(ctx, qInactiveContacts, []any{s.d.t(since), afterID, limit}, func(c *contact.Contact) { out = append(out, c) }); err != nil {
		return nil, s.errf("inactive contacts: %w", err)
	}
	return out, nil
}

// scrubClickURLs removes personal data from the clicked URLs of c's
// events: the query and fragment, and every path segment that holds the
// contact's email address (or its local part), phone number or name
// (/profile/jean.dupont@example.org/ → /profile/-/).
func scrubClickURLs(ctx context.Context, tx *sql.Tx, c *contact.Contact) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, url FROM events WHERE contact_id = $1 AND url <> ''`, c.ID)
	if err != nil {
		return err
	}
	type fix struct {
		id  int64
		url string
	}
	var fixes []fix
	for rows.Next() {
		var f fix
		if err := rows.Scan(&f.id, &f.url); err != nil {
			rows.Close()
			return err
		}
		if u := ScrubURL(f.url, c); u != f.url {
			fixes = append(fixes, fix{f.id, u})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, `UPDATE events SET url = $1 WHERE id = $2`, f.url, f.id); err != nil {
			return err
		}
	}
	return nil
}

// ScrubURL returns u without query, fragment and the path segments that
// hold c's email address, its local part, phone number (digits) or a name
// of three letters or more, compared case-insensitively after unescaping.
func ScrubURL(u string, c *contact.Contact) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	var pii []string
	add := func(s string) {
		if s = strings.ToLower(strings.TrimSpace(s)); len(s) >= 3 {
			pii = append(pii, s)
		}
	}
	add(c.Email)
	if local, _, ok := strings.Cut(c.Email, "@"); ok {
		add(local)
	}
	add(c.FirstName)
	add(c.LastName)
	for _, ph := range []string{digits(c.Phone), digits(c.PhoneRaw)} {
		add(ph)
		if len(ph) > 9 {
			add(ph[len(ph)-9:]) // the national number, written with or without its prefix
		}
	}
	if len(pii) == 0 {
		return u
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, path, _ := strings.Cut(rest, "/")
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		dec = strings.ToLower(dec)
		for _, p := range pii {
			if strings.Contains(dec, p) || (len(digits(dec)) >= 6 && strings.Contains(digits(dec), p)) {
				segs[i] = "-"
				break
			}
		}
	}
	if path == "" && !strings.Contains(rest, "/") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + "/" + strings.Join(segs, "/")
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
