package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

// StartRunRequest is the body of POST /api/v1/campaigns/{id}/runs.
type StartRunRequest struct {
	// RunKey names the occurrence: the same key never sends twice to one
	// recipient. Default: the campaign's content hash.
	RunKey string `json:"run_key,omitempty"`
}

// RunResponse describes a run.
type RunResponse struct {
	ID          int64  `json:"id"`
	CampaignID  string `json:"campaign_id"`
	RunKey      string `json:"run_key"`
	ContentHash string `json:"content_hash"`
	State       string `json:"state"`
	Planned     int    `json:"planned"`
	Created     *bool  `json:"created,omitempty"`
	// ConsentBypassed marks a run of a transactional campaign: its
	// messages are sent without checking marketing consent.
	ConsentBypassed bool           `json:"consent_bypassed,omitempty"`
	Counts          map[string]int `json:"counts"` // ledger rows per state, "refused:<reason>" per reason
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	// PausedAt, CanceledAt and CancelReason are set while an operator
	// holds the run and once it was canceled.
	PausedAt     *time.Time `json:"paused_at,omitempty"`
	CanceledAt   *time.Time `json:"canceled_at,omitempty"`
	CancelReason string     `json:"cancel_reason,omitempty"`
}

// startRun creates the run and expands it in the background (a large
// audience takes longer than an HTTP request should); the answer is 202
// with the run, to poll with GET /api/v1/runs/{id}. The same run key
// answers the same run (200 when it existed), so a retried POST is safe.
func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	sp, err := s.campaign(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req StartRunRequest
	if b, err := readBody(w, r, s.d.MaxBody); err != nil {
		s.fail(w, r, err)
		return
	} else if len(b) > 0 {
		if err := unmarshalStrict(b, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if len(req.RunKey) > maxIdempotencyKey {
		s.fail(w, r, errInvalid("run_key", "too long"))
		return
	}
	if s.d.Planner == nil {
		s.fail(w, r, errNotImplemented("runs cannot be started on this server"))
		return
	}
	if sp.Purpose == campaign.Transactional {
		if !s.bulkTransactionalAllowed(w, r, sp) {
			return
		}
	}
	// Checked before the run exists: Start refuses an unapproved version,
	// and a run created first would stay expanding.
	if err := s.d.Planner.CheckApproval(r.Context(), sp); err != nil {
		var na *run.NotApprovedError
		if errors.As(err, &na) {
			err = errConflict("approval", fmt.Sprintf("%v: approve it after its proof (relais approve %s --version %.12s --by NAME)", err, sp.ID, na.Version))
		}
		s.fail(w, r, err)
		return
	}
	key := req.RunKey
	if key == "" {
		key = run.DefaultRunKey(sp)
	}
	// Creating the run here gives its id to the client; Start finds the
	// same run by (campaign, key) and expands it.
	rn, created, err := s.d.Store.CreateRun(r.Context(), store.Run{CampaignID: sp.ID, RunKey: key, ContentHash: sp.ContentHash, State: store.RunExpanding})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rn.ContentHash != sp.ContentHash {
		s.fail(w, r, errConflict("run_key", "this run key was used by another version of the campaign; use a new run_key"))
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx := context.WithoutCancel(r.Context())
		if _, err := s.d.Planner.Start(ctx, sp, key); err != nil {
			s.d.Log.Error("api run failed", "campaign", sp.ID, "run", rn.ID, "err", err)
		}
	}()
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	resp := runResponse(rn, nil)
	resp.Created = &created
	resp.ConsentBypassed = sp.Purpose == campaign.Transactional
	writeJSON(w, status, resp)
}

var errOverBound = errors.New("over the recipient bound")

// bulkTransactionalAllowed guards a bulk run of a transactional campaign,
// which skips marketing consent: it needs an admin key, and the stored
// audience must not exceed the campaign's max_recipients (default 1). It
// writes the refusal and reports false; an allowed run is logged as a
// consent-bypassing send.
func (s *Server) bulkTransactionalAllowed(w http.ResponseWriter, r *http.Request, sp *campaign.Spec) bool {
	k, _ := r.Context().Value(ctxKey{}).(store.APIKey)
	if !apikey.Allows(k, apikey.ScopeAdmin) {
		writeError(w, &Error{Status: http.StatusForbidden, Code: CodeForbidden,
			Message: "a bulk run of a transactional campaign bypasses consent and needs an API key with the admin scope"})
		return false
	}
	src, err := run.Source(sp, s.d.Store, func(audience.RowError) {})
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	bound, n := sp.RecipientBound(), 0
	err = src.Each(r.Context(), func(*contact.Contact) error {
		if n++; n > bound {
			return errOverBound
		}
		return nil
	})
	if errors.Is(err, errOverBound) {
		s.fail(w, r, errInvalid("max_recipients", "the audience of this transactional campaign exceeds its max_recipients ("+strconv.Itoa(bound)+")"))
		return false
	}
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	s.d.Log.Warn("bulk transactional run: consent not checked", "campaign", sp.ID, "recipients", n, "api_key", k.ID)
	return true
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, errInvalid("id", "must be a positive run id"))
		return
	}
	rn, err := s.d.Store.GetRun(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, errNotFound("id", "no run with this id"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counts, err := s.d.Store.CountLedger(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runResponse(rn, counts))
}

func runResponse(rn store.Run, counts map[string]int) RunResponse {
	if counts == nil {
		counts = map[string]int{}
	}
	resp := RunResponse{ID: rn.ID, CampaignID: rn.CampaignID, RunKey: rn.RunKey, ContentHash: rn.ContentHash,
		State: store.RunStatus(rn, counts), Planned: rn.Planned, Counts: counts, CreatedAt: rn.CreatedAt, UpdatedAt: rn.UpdatedAt,
		CancelReason: rn.CancelReason}
	if !rn.PausedAt.IsZero() {
		resp.PausedAt = &rn.PausedAt
	}
	if !rn.CanceledAt.IsZero() {
		resp.CanceledAt = &rn.CanceledAt
	}
	return resp
}
