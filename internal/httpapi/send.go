package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// SendRequest is the body of POST /api/v1/campaigns/{id}/send.
type SendRequest struct {
	Recipient *Recipient     `json:"recipient"`
	Data      map[string]any `json:"data,omitempty"`
}

// SendResponse is the 202 answer of a transactional send, replayed as
// it is to a request repeating the Idempotency-Key.
type SendResponse struct {
	LedgerID string `json:"ledger_id"`
	RunID    int64  `json:"run_id"`
	Channel  string `json:"channel"`
	// Status is the ledger state: "planned" (queued), "deferred",
	// "refused" (Reason says why) or a later state on a replay of an old
	// key (never: a replay returns the first response).
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// maxIdempotencyKey bounds the header: it becomes part of a run key.
const maxIdempotencyKey = 200

// send triggers a transactional campaign for one recipient. The unique
// (campaign, Idempotency-Key) row is claimed before anything is written,
// so of concurrent identical requests one does the work and the others
// wait for and replay its response; the work itself (contact upsert, run
// "api:<key>", ledger rows with derived ids, queue tasks with the ledger
// id as task id) is idempotent, so a request that takes over a dead
// owner's claim resumes it without sending twice.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	sp, err := s.campaign(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sp.Purpose != campaign.Transactional {
		s.fail(w, r, errInvalid("id", "campaign "+sp.ID+" is not transactional; start a run instead"))
		return
	}
	if s.d.Planner == nil {
		s.fail(w, r, errNotImplemented("sending is not available on this server"))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	switch {
	case key == "":
		s.fail(w, r, errMalformed("Idempotency-Key", "the Idempotency-Key header is required"))
		return
	case len(key) > maxIdempotencyKey:
		s.fail(w, r, errMalformed("Idempotency-Key", fmt.Sprintf("longer than %d characters", maxIdempotencyKey)))
		return
	}
	var req SendRequest
	if _, err := decodeJSON(w, r, s.d.MaxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Recipient == nil {
		s.fail(w, r, errInvalid("recipient", "required"))
		return
	}
	c, err := req.Recipient.contact("recipient.", s.d.Channels)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkReachable(s.d.Channels, sp, c); err != nil {
		s.fail(w, r, err)
		return
	}
	// Validation is over: from here on every write is part of the
	// idempotent work.
	canon, _ := json.Marshal(req) // cannot fail: decoded from JSON
	sum := sha256.Sum256(canon)
	rec := store.Idempotency{Scope: "send:" + sp.ID, Key: key, RequestHash: hex.EncodeToString(sum[:])}
	status, body, err := s.idempotent(r.Context(), rec, func(ctx context.Context) (int, any, error) {
		return s.sendOne(ctx, sp, c, req.Data, key)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, status, body)
}

func (s *Server) sendOne(ctx context.Context, sp *campaign.Spec, c *contact.Contact, data map[string]any, key string) (int, any, error) {
	if _, _, err := s.d.Store.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
		return 0, nil, fmt.Errorf("store recipient: %w", err)
	}
	res, rows, err := s.d.Planner.StartOne(ctx, sp, c, data, "api:"+key)
	if err != nil {
		return 0, nil, fmt.Errorf("send %s: %w", sp.ID, err)
	}
	if len(rows) == 0 {
		return 0, nil, errInvalid("id", "campaign "+sp.ID+" has no step sent on trigger")
	}
	first := rows[0]
	return http.StatusAccepted, SendResponse{LedgerID: first.ID, RunID: res.Run.ID, Channel: first.Channel,
		Status: string(first.State), Reason: first.Reason}, nil
}

// idempotent runs work once per (rec.Scope, rec.Key) and returns its
// response, stored for replays. A request with the same key and another
// body is a 409; a request arriving while the first is in progress waits
// for it (up to IdempotencyWait, then 409). When work fails the claim is
// released, so the client can retry with the same key.
func (s *Server) idempotent(ctx context.Context, rec store.Idempotency, work func(context.Context) (int, any, error)) (int, []byte, error) {
	deadline := s.d.Now().Add(s.d.IdempotencyWait)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		got, owned, err := s.d.API.ClaimIdempotency(ctx, rec, s.d.Now().Add(-s.d.IdempotencyLease))
		if err != nil {
			return 0, nil, err
		}
		if got.RequestHash != rec.RequestHash {
			return 0, nil, errConflict("Idempotency-Key", "this Idempotency-Key was used with another request body")
		}
		if got.Status != 0 {
			return got.Status, got.Response, nil
		}
		if owned {
			break
		}
		if !s.d.Now().Before(deadline) {
			return 0, nil, errConflict("Idempotency-Key", "a request with this Idempotency-Key is still in progress; retry later")
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	// The work must not stop half-way because the client hung up: finish
	// it so the next retry replays the response.
	wctx := context.WithoutCancel(ctx)
	status, v, err := work(wctx)
	if err != nil {
		if rerr := s.d.API.ReleaseIdempotency(wctx, rec.Scope, rec.Key); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return 0, nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	if err := s.d.API.CompleteIdempotency(wctx, rec.Scope, rec.Key, status, body); err != nil {
		return 0, nil, err
	}
	return status, body, nil
}

// campaign returns the live campaign of the {id} path parameter or 404.
func (s *Server) campaign(r *http.Request) (*campaign.Spec, error) {
	id := r.PathValue("id")
	if s.d.Campaigns == nil {
		return nil, errNotImplemented("no campaign catalog on this server")
	}
	sp := s.d.Campaigns.Live(id)
	if sp == nil {
		return nil, errNotFound("id", "no live campaign with this id")
	}
	return sp, nil
}
