package httpapi

import (
	"errors"
	"math"
	"net/http"
	"regexp"
	"time"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

// EventRequest is the body of POST /api/v1/events: a response or a
// conversion attributed to one message, found by exactly one of a
// tracking token, a response code (reply coupon), or a contact reference
// with a campaign id (the newest message of that campaign sent to the
// contact within the attribution window: last touch).
type EventRequest struct {
	Type     string     `json:"type"` // "responded" or "converted"
	Token    string     `json:"token,omitempty"`
	Code     string     `json:"code,omitempty"`
	Contact  string     `json:"contact,omitempty"`
	Campaign string     `json:"campaign,omitempty"`
	Value    *float64   `json:"value,omitempty"`
	Currency string     `json:"currency,omitempty"` // ISO 4217, required with value
	At       *time.Time `json:"at,omitempty"`       // default now
	// ID makes the post idempotent: a second event with the same id is
	// ignored (a retried order webhook).
	ID string `json:"id,omitempty"`
}

// EventResponse is the answer of POST /api/v1/events.
type EventResponse struct {
	LedgerID   string `json:"ledger_id"`
	CampaignID string `json:"campaign_id"`
	Type       string `json:"type"`
	// Recorded is false when an event with the same id existed.
	Recorded bool `json:"recorded"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	var req EventRequest
	if _, err := decodeJSON(w, r, s.d.MaxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkEvent(&req); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.d.Events == nil {
		s.fail(w, r, errNotImplemented("events cannot be recorded on this server"))
		return
	}
	ctx := r.Context()
	now := s.d.Now().UTC()
	var ledgerID string
	switch {
	case req.Token != "":
		if s.d.Signer == nil {
			s.fail(w, r, errNotImplemented("tracking tokens cannot be verified on this server"))
			return
		}
		cl, err := s.d.Signer.Verify(req.Token)
		if err != nil && !errors.Is(err, tracking.ErrExpired) {
			// An expired token still names the message: a conversion may
			// come long after the click.
			s.fail(w, r, errInvalid("token", "not a valid tracking token"))
			return
		}
		ledgerID = cl.LedgerID
	case req.Code != "":
		code, ok := tracking.NormalizeCode(req.Code)
		if !ok {
			s.fail(w, r, errInvalid("code", "not a well-formed response code"))
			return
		}
		rs, ok := s.d.Store.(store.ResponseStore)
		if !ok {
			s.fail(w, r, errNotImplemented("response codes cannot be looked up on this store"))
			return
		}
		id, err := rs.LedgerByResponseCode(ctx, code)
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, errNotFound("code", "unknown response code"))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ledgerID = id
	default:
		cid, err := s.resolve(ctx, req.Contact)
		if err != nil {
			if e := (*Error)(nil); errors.As(err, &e) && e.Field == "ref" {
				e2 := *e
				e2.Field = "contact"
				err = &e2
			}
			s.fail(w, r, err)
			return
		}
		row, err := s.d.API.LastTouch(ctx, cid, req.Campaign, now.Add(-s.d.Attribution))
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, errNotFound("campaign", "no message of this campaign reached the contact within the attribution window"))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ledgerID = row.ID
	}
	row, err := s.d.Store.GetLedger(ctx, ledgerID)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, errNotFound("", "the message this event refers to is unknown"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	at := now
	if req.At != nil {
		at = req.At.UTC()
	}
	ev := store.Event{LedgerID: row.ID, RunID: row.RunID, CampaignID: row.CampaignID, StepID: row.StepID,
		ContactID: row.ContactID, Channel: row.Channel, Type: req.Type, Currency: req.Currency, At: at}
	if req.Value != nil {
		ev.Value = *req.Value
	}
	if req.ID != "" {
		ev.DedupeKey = "api:" + req.ID
	}
	n, err := s.d.Events.RecordEvents(ctx, []store.Event{ev})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, EventResponse{LedgerID: row.ID, CampaignID: row.CampaignID, Type: req.Type, Recorded: n == 1})
}

// checkEvent validates an event request completely before any lookup.
func checkEvent(req *EventRequest) error {
	if req.Type != store.EventResponded && req.Type != store.EventConverted {
		return errInvalid("type", `must be "responded" or "converted"`)
	}
	by := 0
	for _, s := range []string{req.Token, req.Code} {
		if s != "" {
			by++
		}
	}
	if req.Contact != "" || req.Campaign != "" {
		by++
		if req.Contact == "" {
			return errInvalid("contact", "required with campaign")
		}
		if req.Campaign == "" {
			return errInvalid("campaign", "required with contact")
		}
	}
	if by != 1 {
		return errInvalid("token", "give exactly one of token, code, or contact with campaign")
	}
	if req.Value != nil {
		if v := *req.Value; v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return errInvalid("value", "must be a non-negative amount")
		}
		if req.Currency == "" {
			return errInvalid("currency", "required with value (ISO 4217, e.g. EUR)")
		}
	}
	if req.Currency != "" && !currencyRE.MatchString(req.Currency) {
		return errInvalid("currency", "must be an ISO 4217 code in capitals (e.g. EUR)")
	}
	if len(req.ID) > 200 {
		return errInvalid("id", "longer than 200 characters")
	}
	return nil
}
