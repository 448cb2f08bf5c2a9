package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

func TestEvents(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			r := e.do(sendReq(e.keys["send"], "ev-1", sendBody))
			var sent httpapi.SendResponse
			r.json(t, &sent)
			if r.status != http.StatusAccepted {
				t.Fatalf("send = %d %s", r.status, r.body)
			}
			// The worker would move it to accepted; only sent messages are touches.
			if ok, err := e.store.Transition(t.Context(), sent.LedgerID, []store.State{store.Planned}, store.Accepted, store.Change{ProviderID: "<m1@test>"}); err != nil || !ok {
				t.Fatalf("Transition: %v, %v", ok, err)
			}
			row, err := e.store.GetLedger(t.Context(), sent.LedgerID)
			if err != nil {
				t.Fatal(err)
			}
			token := e.signer.Sign(tracking.Claims{Purpose: tracking.PurposeClick, LedgerID: row.ID, RunID: row.RunID,
				ContactID: row.ContactID, Campaign: row.CampaignID, Step: row.StepID, Channel: row.Channel, URL: "https://shop.example/"})
			post := func(body string, invalid bool) resp {
				return e.do(req{method: "POST", path: "/api/v1/events", key: e.keys["events"], body: body, invalid: invalid})
			}
			tests := []struct {
				name      string
				body      string
				status    int
				recorded  bool
				wantField string
			}{
				{"conversion by contact", `{"type": "converted", "contact": "c-1", "campaign": "confirm", "value": 59.9, "currency": "EUR", "id": "order-1"}`, 202, true, ""},
				{"same id again", `{"type": "converted", "contact": "c-1", "campaign": "confirm", "value": 59.9, "currency": "EUR", "id": "order-1"}`, 202, false, ""},
				{"response by token", fmt.Sprintf(`{"type": "responded", "token": %q}`, token), 202, true, ""},
				{"tampered token", fmt.Sprintf(`{"type": "responded", "token": %q}`, token[:len(token)-2]+"xx"), 422, false, "token"},
				{"unknown code", `{"type": "responded", "code": "ABCDE-12345"}`, 404, false, "code"},
				{"no target", `{"type": "converted", "value": 1, "currency": "EUR"}`, 422, false, "token"},
				{"two targets", fmt.Sprintf(`{"type": "converted", "token": %q, "contact": "c-1", "campaign": "confirm"}`, token), 422, false, "token"},
				{"value without currency", `{"type": "converted", "contact": "c-1", "campaign": "confirm", "value": 10}`, 422, false, "currency"},
				{"negative value", `{"type": "converted", "contact": "c-1", "campaign": "confirm", "value": -1, "currency": "EUR"}`, 422, false, "value"},
				{"bad type", `{"type": "opened", "contact": "c-1", "campaign": "confirm"}`, 422, false, "type"},
				{"no touch of campaign", `{"type": "converted", "contact": "c-1", "campaign": "news"}`, 404, false, "campaign"},
				{"unknown contact", `{"type": "converted", "contact": "nobody", "campaign": "confirm"}`, 404, false, "contact"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := post(tc.body, tc.status >= 400)
					if r.status != tc.status {
						t.Fatalf("= %d %s, want %d", r.status, r.body, tc.status)
					}
					if tc.status >= 400 {
						if f := r.apiError(t).Field; f != tc.wantField {
							t.Errorf("error field = %q, want %q", f, tc.wantField)
						}
						return
					}
					var er httpapi.EventResponse
					r.json(t, &er)
					if er.LedgerID != sent.LedgerID || er.Recorded != tc.recorded {
						t.Errorf("= %+v, want ledger %s recorded=%v", er, sent.LedgerID, tc.recorded)
					}
				})
			}
			evs, err := e.store.(store.EventStore).ListEvents(t.Context(), store.EventFilter{LedgerID: sent.LedgerID})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 {
				t.Fatalf("events = %+v, want one conversion and one response", evs)
			}
			conv := evs[0]
			if conv.Type != store.EventConverted || conv.Value != 59.9 || conv.Currency != "EUR" || conv.CampaignID != "confirm" || conv.RunID != sent.RunID {
				t.Errorf("conversion = %+v", conv)
			}
			if evs[1].Type != store.EventResponded {
				t.Errorf("second event = %+v, want responded", evs[1])
			}
		})
	}
}
