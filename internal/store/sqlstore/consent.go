package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Suppress adds key (contact.SuppressionKey) to the suppression list with
// reason (contact.SuppressHardBounce…); adding it again is a no-op.
func (s *Store) Suppress(ctx context.Context, key, reason string) error {
	_, err := s.exec(ctx, "suppress ("+reason+")", qSuppress, key, reason, s.d.t(s.now()))
	return err
}

// Suppressed is the policy engine's lookup: when a key has several
// reasons it reports the most blocking (erased, manual, hard_bounce,
// opted_out).
func (s *Store) Suppressed(ctx context.Context, key string) (bool, string, error) {
	var reason string
	err := s.r.QueryRowContext(ctx, qSuppressed, key).Scan(&reason)
	if err == sql.ErrNoRows {
		return false, "", nil
	}
	if err != nil {
		return false, "", s.errf("suppression lookup: %w", err)
	}
	return true, reason, nil
}

// SetConsent records a consent given or withdrawn (Status Granted or
// Refused) with its proof; it replaces the previous record for the same
// contact, channel and purpose and overrides the imported consent.
// Status Unknown is an error.
func (s *Store) SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error {
	if st.Status != contact.Granted && st.Status != contact.Refused {
		return s.errf("set consent of contact %d: status must be granted or refused", contactID)
	}
	at := st.At
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.exec(ctx, "set consent", qSetConsent, contactID, consentChannel, purpose,
		st.Status == contact.Granted, st.Source, st.Text, s.d.t(at))
	return err
}

// Consent is the policy engine's lookup, resolved by
// contact.ResolveConsent: a recorded consent wins; otherwise, for
// marketing, the contact's imported consent column answers; otherwise
// Unknown, also for a missing contact.
func (s *Store) Consent(ctx context.Context, contactID int64, consentChannel, purpose string) (contact.ConsentState, error) {
	var (
		rec     contact.ConsentState
		granted bool
	)
	err := s.r.QueryRowContext(ctx, qConsent, contactID, consentChannel, purpose).Scan(&granted, &rec.Source, &rec.Text, ts(&rec.At))
	switch {
	case err == nil:
		rec.Status = contact.Refused
		if granted {
			rec.Status = contact.Granted
		}
		return rec, nil
	case err != sql.ErrNoRows:
		return rec, s.errf("consent of contact %d: %w", contactID, err)
	case purpose != contact.PurposeMarketing:
		return rec, nil
	}
	var (
		raw sql.NullString
		at  time.Time
	)
	err = s.r.QueryRowContext(ctx, qContactConsent, contactID).Scan(&raw, ts(&at))
	if err == sql.ErrNoRows || err == nil && !raw.Valid {
		return rec, nil
	}
	if err != nil {
		return rec, s.errf("imported consent of contact %d: %w", contactID, err)
	}
	imported, err := store.DecodeConsent([]byte(raw.String))
	if err != nil {
		return rec, s.errf("imported consent of contact %d: %w", contactID, err)
	}
	return contact.ResolveConsent(rec, imported[consentChannel], contact.ImportSource, at), nil
}
