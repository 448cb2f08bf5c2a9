package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

const sendBody = `{"recipient": {"external_id": "c-1", "email": "ana@example.org", "first_name": "Ana"}, "data": {"order_id": "A-100", "items": 3}}`

func sendReq(key, idem, body string) req {
	return req{method: "POST", path: "/api/v1/campaigns/confirm/send", key: key,
		header: map[string]string{"Idempotency-Key": idem}, body: body}
}

// TestSendIdempotent posts the same Idempotency-Key 5 times at once: one
// ledger row, one queued task, five identical 202 answers.
func TestSendIdempotent(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			const n = 5
			out := make([]resp, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					out[i] = e.do(sendReq(e.keys["send"], "order-A-100", sendBody))
				})
			}
			close(start)
			wg.Wait()
			for i, r := range out {
				if r.status != http.StatusAccepted || string(r.body) != string(out[0].body) {
					t.Fatalf("answer #%d = %d %s, want 202 %s", i, r.status, r.body, out[0].body)
				}
			}
			var got httpapi.SendResponse
			out[0].json(t, &got)
			if got.Status != string(store.Planned) || got.Channel != "email" || got.LedgerID == "" {
				t.Errorf("send response = %+v, want a planned email", got)
			}
			rows := e.ledgerRows(got.RunID)
			if len(rows) != 1 || rows[0].ID != got.LedgerID {
				t.Fatalf("ledger rows of run %d = %+v, want exactly the one answered", got.RunID, rows)
			}
			if q := e.queued(queue.Transactional); q != 1 {
				t.Errorf("transactional queue holds %d tasks, want 1", q)
			}
			if q := e.queued(queue.Marketing); q != 0 {
				t.Errorf("marketing queue holds %d tasks, want 0", q)
			}
			data, err := e.api.LedgerPayload(t.Context(), got.LedgerID)
			if err != nil || data["order_id"] != "A-100" || data["items"] != int64(3) {
				t.Errorf("ledger payload = %v, %v; want the request's data", data, err)
			}
			run, err := e.store.GetRun(t.Context(), got.RunID)
			if err != nil || run.RunKey != "api:order-A-100" || run.State != store.RunSending {
				t.Errorf("run = %+v, %v; want key api:order-A-100, sending", run, err)
			}

			// Later: the same key replays, another body conflicts, another
			// key sends another message.
			replay := e.do(sendReq(e.keys["send"], "order-A-100", sendBody))
			if replay.status != http.StatusAccepted || string(replay.body) != string(out[0].body) {
				t.Errorf("replay = %d %s, want the first answer", replay.status, replay.body)
			}
			other := e.do(sendReq(e.keys["send"], "order-A-100", strings.Replace(sendBody, "A-100", "A-101", 1)))
			if other.status != http.StatusConflict || other.apiError(t).Field != "Idempotency-Key" {
				t.Errorf("same key, other body = %d %s, want 409 on Idempotency-Key", other.status, other.body)
			}
			second := e.do(sendReq(e.keys["send"], "order-A-101", strings.Replace(sendBody, "A-100", "A-101", 1)))
			var got2 httpapi.SendResponse
			second.json(t, &got2)
			if second.status != http.StatusAccepted || got2.LedgerID == got.LedgerID {
				t.Errorf("new key = %d %s, want another message", second.status, second.body)
			}
			if q := e.queued(queue.Transactional); q != 2 {
				t.Errorf("transactional queue holds %d tasks, want 2", q)
			}
			cs, err := e.store.ScanContacts(t.Context(), 0, 10)
			if err != nil || len(cs) != 1 {
				t.Errorf("contacts = %d, %v; want the one recipient, stored once", len(cs), err)
			}
		})
	}
}

// TestSendErrors checks that bad requests get a 4xx naming the field and
// write nothing at all.
func TestSendErrors(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			big := fmt.Sprintf(`{"recipient": {"email": "ana@example.org"}, "data": {"blob": %q}}`, strings.Repeat("x", 1<<20))
			tests := []struct {
				name      string
				path      string
				idem      string
				body      string
				wantCode  int
				wantField string
			}{
				{"unknown recipient field", "", "k1", `{"recipient": {"email": "ana@example.org", "nickname": "A"}}`, 422, "recipient.nickname"},
				{"unknown top-level field", "", "k2", `{"recipient": {"email": "ana@example.org"}, "priority": 1}`, 422, "priority"},
				{"missing address", "", "k3", `{"recipient": {"external_id": "c-9", "first_name": "Ana"}}`, 422, "recipient.email"},
				{"invalid email", "", "k4", `{"recipient": {"email": "not-an-address"}}`, 422, "recipient.email"},
				{"invalid phone", "", "k5", `{"recipient": {"email": "ana@example.org", "phone": "12"}}`, 422, "recipient.phone"},
				{"wrong type", "", "k6", `{"recipient": {"email": "ana@example.org"}, "data": "x"}`, 422, "data"},
				{"no recipient", "", "k7", `{"data": {}}`, 422, "recipient"},
				{"bad kind", "", "k8", `{"recipient": {"email": "ana@example.org", "kind": "robot"}}`, 422, "recipient.kind"},
				{"malformed JSON", "", "k9", `{"recipient": `, 400, ""},
				{"trailing data", "", "k10", `{"recipient": {"email": "ana@example.org"}} {}`, 400, ""},
				{"oversized body", "", "k11", big, 413, ""},
				{"missing Idempotency-Key", "", "", sendBody, 400, "Idempotency-Key"},
				{"unknown campaign", "/api/v1/campaigns/nope/send", "k12", sendBody, 404, "id"},
				{"marketing campaign", "/api/v1/campaigns/news/send", "k13", sendBody, 422, "id"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					rq := sendReq(e.keys["send"], tc.idem, tc.body)
					rq.invalid = true
					if tc.idem == "" {
						rq.header = nil
					}
					if tc.path != "" {
						rq.path = tc.path
					}
					r := e.do(rq)
					if r.status != tc.wantCode {
						t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.wantCode)
					}
					if got := r.apiError(t); got.Field != tc.wantField || got.Message == "" || got.Code == "" {
						t.Errorf("error = %+v, want field %q with a code and message", got, tc.wantField)
					}
				})
			}
			cs, err := e.store.ScanContacts(t.Context(), 0, 10)
			if err != nil || len(cs) != 0 {
				t.Errorf("contacts after refused requests = %d, %v; want none", len(cs), err)
			}
			runs, err := e.store.ListRuns(t.Context(), "", 10)
			if err != nil || len(runs) != 0 {
				t.Errorf("runs after refused requests = %d, %v; want none", len(runs), err)
			}
			if q := e.queued(queue.Transactional); q != 0 {
				t.Errorf("transactional queue holds %d tasks after refused requests, want 0", q)
			}
			// A refused key is not burnt: the same key with a good body works.
			if r := e.do(sendReq(e.keys["send"], "k3", sendBody)); r.status != http.StatusAccepted {
				t.Errorf("good body on a key refused before = %d %s, want 202", r.status, r.body)
			}
		})
	}
}
