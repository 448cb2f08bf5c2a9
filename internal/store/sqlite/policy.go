package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/relais-dev/relais/internal/contact"
)

// importSource is the Source of a consent read from an import's columns.
const importSource = "import"

// Suppress adds key (contact.SuppressionKey) to the suppression list with
// reason (contact.SuppressHardBounce…); adding it again is a no-op.
func (s *Store) Suppress(ctx context.Context, key, reason string) error {
	if _, err := s.w.ExecContext(ctx, qSuppress, key, reason, fmtTime(s.now())); err != nil {
		return fmt.Errorf("sqlite: suppress (%s): %w", reason, err)
	}
	return nil
}

// Suppressed implements policy.Lookup: when a key has several reasons it
// reports the most blocking (erased, manual, hard_bounce, opted_out).
func (s *Store) Suppressed(ctx context.Context, key string) (bool, string, error) {
	var reason string
	err := s.r.QueryRowContext(ctx, qSuppressed, key).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("sqlite: suppression lookup: %w", err)
	}
	return true, reason, nil
}

// SetConsent records a consent given or withdrawn (Status Granted or
// Refused) with its proof; it replaces the previous record for the same
// contact, channel and purpose and overrides the imported consent.
// Status Unknown is an error.
func (s *Store) SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error {
	if st.Status != contact.Granted && st.Status != contact.Refused {
		return fmt.Errorf("sqlite: set consent of contact %d: status must be granted or refused", contactID)
	}
	at := st.At
	if at.IsZero() {
		at = s.now()
	}
	if _, err := s.w.ExecContext(ctx, qSetConsent, contactID, consentChannel, purpose,
		st.Status == contact.Granted, st.Source, st.Text, fmtTime(at)); err != nil {
		return fmt.Errorf("sqlite: set consent of contact %d: %w", contactID, err)
	}
	return nil
}

// Consent implements policy.Lookup: a recorded consent wins; otherwise,
// for marketing, the contact's imported consent column answers (Source
// "import", At its last update); otherwise Unknown, also for a missing
// contact.
func (s *Store) Consent(ctx context.Context, contactID int64, consentChannel, purpose string) (contact.ConsentState, error) {
	var (
		st      contact.ConsentState
		granted bool
		at      string
	)
	err := s.r.QueryRowContext(ctx, qConsent, contactID, consentChannel, purpose).Scan(&granted, &st.Source, &st.Text, &at)
	switch {
	case err == nil:
		st.Status = contact.Refused
		if granted {
			st.Status = contact.Granted
		}
		st.At, err = parseTime(at)
		return st, err
	case !errors.Is(err, sql.ErrNoRows):
		return st, fmt.Errorf("sqlite: consent of contact %d: %w", contactID, err)
	case purpose != "marketing":
		return st, nil
	}
	var imported sql.NullBool
	err = s.r.QueryRowContext(ctx, qImportedConsent, consentChannel, contactID).Scan(&imported, &at)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !imported.Valid {
		return contact.ConsentState{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("sqlite: imported consent of contact %d: %w", contactID, err)
	}
	st = contact.ConsentState{Status: contact.Refused, Source: importSource}
	if imported.Bool {
		st.Status = contact.Granted
	}
	st.At, err = parseTime(at)
	return st, err
}
