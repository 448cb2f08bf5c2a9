package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/relais-dev/relais/internal/store"
)

// CancelRunRequest is the body of POST /api/v1/runs/{id}/cancel.
type CancelRunRequest struct {
	// Reason is recorded on the run and on every canceled message.
	Reason string `json:"reason,omitempty"`
}

// maxCancelReason bounds a cancel reason: it is shown in status and
// reports, not a document.
const maxCancelReason = 500

// controlRun pauses, resumes or cancels a run and answers it with its
// counts. Doing it twice is harmless: a paused run stays paused, a
// canceled one keeps its first reason.
func (s *Server) controlRun(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, r, errInvalid("id", "must be a positive run id"))
			return
		}
		var req CancelRunRequest
		if b, err := readBody(w, r, s.d.MaxBody); err != nil {
			s.fail(w, r, err)
			return
		} else if len(b) > 0 && action == "cancel" {
			if err := unmarshalStrict(b, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if len(req.Reason) > maxCancelReason {
			s.fail(w, r, errInvalid("reason", "too long"))
			return
		}
		if req.Reason == "" {
			req.Reason = "canceled through the API"
		}
		ctx, now := r.Context(), s.d.Now()
		switch action {
		case "pause":
			_, err = s.d.Store.PauseRun(ctx, id, now)
		case "resume":
			_, err = s.d.Store.ResumeRun(ctx, id)
		case "cancel":
			_, err = s.d.Store.CancelRun(ctx, id, req.Reason, now)
		}
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, errNotFound("id", "no run with this id"))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.getRun(w, r)
	}
}
