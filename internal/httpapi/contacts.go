package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// contactFinder is the contacts store's reference lookup (external id,
// email or phone; store.RightsStore has it).
type contactFinder interface {
	FindContacts(ctx context.Context, ref string) ([]*contact.Contact, error)
}

// consentSetter records a consent with its proof (both stores).
type consentSetter interface {
	SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error
}

// ContactResponse is the answer of PUT /api/v1/contacts/{ref}: ids only,
// no personal data echoed.
type ContactResponse struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id"`
	Created    bool   `json:"created"`
}

// resolve finds the contact a {ref} path parameter names: "id:<n>" is a
// store id; anything else is looked up as an external id (and, when the
// store can, as an email or phone number). Several matches are a 409.
func (s *Server) resolve(ctx context.Context, ref string) (int64, error) {
	if ref == "" {
		return 0, errInvalid("ref", "empty contact reference")
	}
	if n, ok := strings.CutPrefix(ref, "id:"); ok {
		id, err := strconv.ParseInt(n, 10, 64)
		if err != nil || id <= 0 {
			return 0, errInvalid("ref", `"id:" must be followed by a positive contact id`)
		}
		if _, err := s.d.Store.GetContact(ctx, id); errors.Is(err, store.ErrNotFound) {
			return 0, errNotFound("ref", "no contact with this reference")
		} else if err != nil {
			return 0, err
		}
		return id, nil
	}
	if f, ok := s.d.Store.(contactFinder); ok {
		cs, err := f.FindContacts(ctx, ref)
		switch {
		case err != nil:
			return 0, err
		case len(cs) == 0:
			return 0, errNotFound("ref", "no contact with this reference")
		case len(cs) > 1:
			return 0, errConflict("ref", fmt.Sprintf("%d contacts match this reference; use id:<n> or the external id", len(cs)))
		}
		return cs[0].ID, nil
	}
	id, err := s.d.API.ResolveExternalID(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return 0, errNotFound("ref", "no contact with this reference")
	}
	return id, err
}

// putContact upserts the contact whose external id is {ref}; fields left
// out keep their stored value.
func (s *Server) putContact(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	if ref == "" || strings.HasPrefix(ref, "id:") {
		s.fail(w, r, errInvalid("ref", "PUT takes the contact's external id"))
		return
	}
	var rec Recipient
	if _, err := decodeJSON(w, r, s.d.MaxBody, &rec); err != nil {
		s.fail(w, r, err)
		return
	}
	if rec.ExternalID != "" && rec.ExternalID != ref {
		s.fail(w, r, errInvalid("external_id", "differs from the reference in the path"))
		return
	}
	rec.ExternalID = ref
	c, err := rec.contact("", s.d.Channels)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ins, _, err := s.d.Store.UpsertContacts(r.Context(), []*contact.Contact{c})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if ins == 1 {
		status = http.StatusCreated
	}
	writeJSON(w, status, ContactResponse{ID: c.ID, ExternalID: c.ExternalID, Created: ins == 1})
}

// ConsentRequest is the body of PUT /api/v1/contacts/{ref}/consent.
type ConsentRequest struct {
	Channel string     `json:"channel"`           // a consent key of the channels
	Purpose string     `json:"purpose,omitempty"` // "marketing" (default) or "open_tracking"
	Granted *bool      `json:"granted"`
	Source  string     `json:"source,omitempty"` // default "api"
	Text    string     `json:"text,omitempty"`   // wording or its version
	At      *time.Time `json:"at,omitempty"`     // default now
}

// ConsentResponse echoes the recorded consent.
type ConsentResponse struct {
	ContactID int64     `json:"contact_id"`
	Channel   string    `json:"channel"`
	Purpose   string    `json:"purpose"`
	Granted   bool      `json:"granted"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
}

func (s *Server) putConsent(w http.ResponseWriter, r *http.Request) {
	var req ConsentRequest
	if _, err := decodeJSON(w, r, s.d.MaxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Purpose == "" {
		req.Purpose = contact.PurposeMarketing
	}
	if req.Source == "" {
		req.Source = "api"
	}
	switch {
	case !slices.Contains(s.d.Channels.ConsentKeys(), req.Channel):
		s.fail(w, r, errInvalid("channel", "must be "+oneOf(s.d.Channels.ConsentKeys())))
		return
	case req.Purpose != contact.PurposeMarketing && req.Purpose != contact.PurposeOpenTracking:
		s.fail(w, r, errInvalid("purpose", `must be "marketing" or "open_tracking"`))
		return
	case req.Granted == nil:
		s.fail(w, r, errInvalid("granted", "required (true or false)"))
		return
	}
	cs, ok := s.d.Store.(consentSetter)
	if !ok {
		s.fail(w, r, errNotImplemented("this store cannot record consent"))
		return
	}
	id, err := s.resolve(r.Context(), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	at := s.d.Now().UTC()
	if req.At != nil {
		at = req.At.UTC()
	}
	st := contact.ConsentState{Status: contact.Refused, Source: req.Source, Text: req.Text, At: at}
	if *req.Granted {
		st.Status = contact.Granted
	}
	if err := cs.SetConsent(r.Context(), id, req.Channel, req.Purpose, st); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ConsentResponse{ContactID: id, Channel: req.Channel, Purpose: req.Purpose,
		Granted: *req.Granted, Source: req.Source, At: at})
}

func (s *Server) exportContact(w http.ResponseWriter, r *http.Request) {
	if s.d.Exporter == nil {
		s.fail(w, r, errNotImplemented("contact export is not available on this server"))
		return
	}
	id, err := s.resolve(r.Context(), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.d.Exporter.ExportContact(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		err = errNotFound("ref", "no contact with this reference")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// ForgetResponse is the answer of DELETE /api/v1/contacts/{ref}.
type ForgetResponse struct {
	ContactID int64 `json:"contact_id"`
	// Erased is false when the contact had been erased before (the call
	// is idempotent).
	Erased bool `json:"erased"`
}

func (s *Server) forgetContact(w http.ResponseWriter, r *http.Request) {
	if s.d.Forgetter == nil {
		s.fail(w, r, errNotImplemented("contact erasure is not available on this server"))
		return
	}
	id, err := s.resolve(r.Context(), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	erased, err := s.d.Forgetter.ForgetContact(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ForgetResponse{ContactID: id, Erased: erased})
}

// oneOf lists values for an error message: "a", "b" or "c".
func oneOf(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
