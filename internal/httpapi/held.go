package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/store"
)

// HeldList is the answer of GET /api/v1/runs/{id}/held.
type HeldList struct {
	Held []held.Row `json:"held"`
}

// HeldReleaseRequest is the body of POST /api/v1/runs/{id}/held/release:
// every held send of the run (all) or the listed ones, not both.
type HeldReleaseRequest struct {
	All       bool     `json:"all,omitempty"`
	LedgerIDs []string `json:"ledger_ids,omitempty"`
}

// HeldSettleRequest is the body of POST /api/v1/runs/{id}/held/settle.
type HeldSettleRequest struct {
	// Outcome is "delivered" or "failed".
	Outcome string `json:"outcome"`
	// Note says why; it is recorded with the API key and the time.
	Note      string   `json:"note"`
	All       bool     `json:"all,omitempty"`
	LedgerIDs []string `json:"ledger_ids,omitempty"`
}

// maxHeldIDs bounds the ledger ids named in one request.
const maxHeldIDs = 10000

// heldRun parses the run id of a held route; it writes the error and
// reports false when the id is not a positive run id or no such run exists.
func (s *Server) heldRun(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, errInvalid("id", "must be a positive run id"))
		return 0, false
	}
	if _, err := s.d.Store.GetRun(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, errNotFound("id", "no run with this id"))
		return 0, false
	} else if err != nil {
		s.fail(w, r, err)
		return 0, false
	}
	return id, true
}

// listHeld answers the sends of a run held as ambiguous.
func (s *Server) listHeld(w http.ResponseWriter, r *http.Request) {
	id, ok := s.heldRun(w, r)
	if !ok {
		return
	}
	rows, err := held.List(r.Context(), s.d.Store, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, HeldList{Held: rows})
}

// heldSelection validates all and ledger_ids.
func heldSelection(all bool, ids []string) (held.Selection, error) {
	switch {
	case all && len(ids) > 0:
		return held.Selection{}, errInvalid("ledger_ids", "give ledger_ids or all, not both")
	case !all && len(ids) == 0:
		return held.Selection{}, errInvalid("ledger_ids", "name the held sends (ledger_ids) or set all to true")
	case len(ids) > maxHeldIDs:
		return held.Selection{}, errInvalid("ledger_ids", "at most "+strconv.Itoa(maxHeldIDs)+" ledger ids per request")
	}
	for _, id := range ids {
		if id == "" {
			return held.Selection{}, errInvalid("ledger_ids", "a ledger id is empty")
		}
	}
	return held.Selection{All: all, IDs: ids}, nil
}

// heldFail answers an error of the held package, as 422 naming the field
// when the request is at fault.
func (s *Server) heldFail(w http.ResponseWriter, r *http.Request, err error) {
	var ie *held.InputError
	if errors.As(err, &ie) {
		s.fail(w, r, errInvalid(ie.Field, ie.Msg))
		return
	}
	s.fail(w, r, err)
}

// operator names the API key acting, for the record.
func operator(r *http.Request) string {
	k, _ := r.Context().Value(ctxKey{}).(store.APIKey)
	return "api key " + k.ID
}

// releaseHeld resends held sends, with the same Message-ID.
func (s *Server) releaseHeld(w http.ResponseWriter, r *http.Request) {
	id, ok := s.heldRun(w, r)
	if !ok {
		return
	}
	var req HeldReleaseRequest
	b, err := readBody(w, r, s.d.MaxBody)
	if err == nil {
		err = unmarshalStrict(b, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sel, err := heldSelection(req.All, req.LedgerIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.d.Requeuer == nil {
		s.fail(w, r, errNotImplemented("held sends cannot be released on this server (no queue)"))
		return
	}
	res, err := held.Release(r.Context(), s.d.Store, s.d.Requeuer, id, sel, operator(r), s.d.Now())
	if err != nil {
		s.heldFail(w, r, err)
		return
	}
	s.d.Log.Info("held sends released through the API", "run", id, "released", res.Released, "by", operator(r))
	writeJSON(w, http.StatusOK, res)
}

// settleHeld closes held sends without sending.
func (s *Server) settleHeld(w http.ResponseWriter, r *http.Request) {
	id, ok := s.heldRun(w, r)
	if !ok {
		return
	}
	var req HeldSettleRequest
	b, err := readBody(w, r, s.d.MaxBody)
	if err == nil {
		err = unmarshalStrict(b, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var to store.State
	switch req.Outcome {
	case "delivered":
		to = store.Delivered
	case "failed":
		to = store.Failed
	default:
		s.fail(w, r, errInvalid("outcome", `must be "delivered" or "failed"`))
		return
	}
	if req.Note == "" {
		s.fail(w, r, errInvalid("note", "required: say why (a bounce seen, the recipient confirmed…)"))
		return
	}
	if len(req.Note) > maxCancelReason {
		s.fail(w, r, errInvalid("note", "too long"))
		return
	}
	sel, err := heldSelection(req.All, req.LedgerIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := held.Settle(r.Context(), s.d.Store, id, sel, to, req.Note, operator(r), s.d.Now())
	if err != nil {
		s.heldFail(w, r, err)
		return
	}
	s.d.Log.Info("held sends settled through the API", "run", id, "settled", res.Settled, "state", to, "by", operator(r))
	writeJSON(w, http.StatusOK, res)
}
