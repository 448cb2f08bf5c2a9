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

var _ store.RightsStore = (*Store)(nil)

// FindContacts implements store.RightsStore.
func (s *Store) FindContacts(ctx context.Context, ref string) ([]*contact.Contact, error) {
	ext, email, phone := store.RefKeys(ref)
	var out []*contact.Contact
	if err := s.queryContacts(ctx, qFindContacts, []any{ext, email, phone}, func(c *contact.Contact) { out = append(out, c) }); err != nil {
		return nil, fmt.Errorf("postgres: find contacts: %w", err)
	}
	return out, nil
}

// ListConsents implements store.RightsStore.
func (s *Store) ListConsents(ctx context.Context, contactID int64) ([]store.ConsentRecord, error) {
	rows, err := s.pool.Query(ctx, qListConsents, contactID)
	if err != nil {
		return nil, fmt.Errorf("postgres: consents of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	var out []store.ConsentRecord
	for rows.Next() {
		var r store.ConsentRecord
		if err := rows.Scan(&r.ContactID, &r.Channel, &r.Purpose, &r.Granted, &r.Source, &r.Text, &r.At); err != nil {
			return nil, fmt.Errorf("postgres: consents of contact %d: %w", contactID, err)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: consents of contact %d: %w", contactID, err)
	}
	return out, nil
}

// ImportConsents implements store.RightsStore in one transaction, sent
// as one batch.
func (s *Store) ImportConsents(ctx context.Context, recs []store.ConsentRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: import consents: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	now := s.now()
	var b pgx.Batch
	for _, r := range recs {
		at := r.At
		if at.IsZero() {
			at = now
		}
		b.Queue(qImportConsent, r.ContactID, r.Channel, r.Purpose, r.Granted, r.Source, r.Text, at.UTC())
	}
	res := tx.SendBatch(ctx, &b)
	n := 0
	for range recs {
		tag, err := res.Exec()
		if err != nil {
			res.Close()
			return 0, fmt.Errorf("postgres: import consents: %w", err)
		}
		n += int(tag.RowsAffected())
	}
	if err := res.Close(); err != nil {
		return 0, fmt.Errorf("postgres: import consents: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: import consents: commit: %w", err)
	}
	return n, nil
}

// ContactLedger implements store.RightsStore.
func (s *Store) ContactLedger(ctx context.Context, contactID int64) ([]store.LedgerRow, error) {
	rows, err := s.pool.Query(ctx, qContactLedger, contactID)
	if err != nil {
		return nil, fmt.Errorf("postgres: ledger of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	var out []store.LedgerRow
	for rows.Next() {
		l, err := scanLedger(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: ledger of contact %d: %w", contactID, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: ledger of contact %d: %w", contactID, err)
	}
	return out, nil
}

// ContactEvents implements store.RightsStore.
func (s *Store) ContactEvents(ctx context.Context, contactID int64) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, qContactEvents, contactID)
	if err != nil {
		return nil, fmt.Errorf("postgres: events of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		if err := rows.Scan(&e.ID, &e.LedgerID, &e.RunID, &e.CampaignID, &e.StepID, &e.ContactID, &e.Channel,
			&e.Type, &e.Machine, &e.URL, &e.Value, &e.Currency, &e.Detail, &e.DedupeKey, &e.At); err != nil {
			return nil, fmt.Errorf("postgres: events of contact %d: %w", contactID, err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: events of contact %d: %w", contactID, err)
	}
	return out, nil
}

// EraseContact implements store.RightsStore. The old row versions stay in
// the table's dead tuples until PostgreSQL vacuums them (autovacuum does),
// as with any UPDATE; no query can read them.
func (s *Store) EraseContact(ctx context.Context, contactID int64, keys func(*contact.Contact) []string, at time.Time) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: erase contact %d: begin: %w", contactID, err)
	}
	defer tx.Rollback(ctx)
	c, err := scanContact(tx.QueryRow(ctx, qContactForErase, contactID))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, notFound(fmt.Sprintf("erase contact %d", contactID))
	}
	if err != nil {
		return false, fmt.Errorf("postgres: erase contact %d: %w", contactID, err)
	}
	if !c.ErasedAt.IsZero() {
		return false, nil
	}
	at = at.UTC()
	for _, k := range keys(c) {
		if _, err := tx.Exec(ctx, qSuppress, k, contact.SuppressErased, at); err != nil {
			return false, fmt.Errorf("postgres: erase contact %d: suppress: %w", contactID, err)
		}
	}
	if _, err := tx.Exec(ctx, qEraseContact, at, contactID); err != nil {
		return false, fmt.Errorf("postgres: erase contact %d: %w", contactID, err)
	}
	if _, err := tx.Exec(ctx, qEraseEvents, contactID); err != nil {
		return false, fmt.Errorf("postgres: erase contact %d: events: %w", contactID, err)
	}
	var payloads bool
	if err := tx.QueryRow(ctx, qHasLedgerPayloads).Scan(&payloads); err != nil {
		return false, fmt.Errorf("postgres: erase contact %d: %w", contactID, err)
	}
	if payloads {
		if _, err := tx.Exec(ctx, qErasePayloads, contactID); err != nil {
			return false, fmt.Errorf("postgres: erase contact %d: payloads: %w", contactID, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: erase contact %d: commit: %w", contactID, err)
	}
	return true, nil
}

// InactiveContacts implements store.RightsStore.
func (s *Store) InactiveContacts(ctx context.Context, since time.Time, afterID int64, limit int) ([]*contact.Contact, error) {
	if limit <= 0 {
		limit = 1000
	}
	var out []*contact.Contact
	if err := s.queryContacts(ctx, qInactiveContacts, []any{since.UTC(), afterID, limit}, func(c *contact.Contact) { out = append(out, c) }); err != nil {
		return nil, fmt.Errorf("postgres: inactive contacts: %w", err)
	}
	return out, nil
}
