package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/store"
)

// TestRunControl pauses, resumes and cancels a run through the API: pause
// and resume need the runs scope, cancel needs admin, and a cancel moves
// the unsent message to canceled with the reason.
func TestRunControl(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			csv := "external_id,email,first_name,consent_email\nn-1,a@example.org,A,yes\n"
			if r := e.do(req{method: "POST", path: "/api/v1/contacts/import", key: e.keys["contacts"], body: csv, contentType: "text/csv"}); r.status != 200 {
				t.Fatalf("import = %d %s", r.status, r.body)
			}
			r := e.do(req{method: "POST", path: "/api/v1/campaigns/news/runs", key: e.keys["runs"], body: `{"run_key": "ctl"}`})
			var rr httpapi.RunResponse
			r.json(t, &rr)
			if err := e.srv.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			path := "/api/v1/runs/" + itoa(rr.ID)
			call := func(action, key, body string) (resp, httpapi.RunResponse) {
				r := e.do(req{method: "POST", path: path + "/" + action, key: key, body: body})
				var got httpapi.RunResponse
				if r.status == 200 {
					r.json(t, &got)
				}
				return r, got
			}
			if r, got := call("pause", e.keys["runs"], ""); r.status != 200 || got.State != store.RunPaused || got.PausedAt == nil {
				t.Fatalf("pause = %d %s", r.status, r.body)
			}
			if r, got := call("resume", e.keys["runs"], ""); r.status != 200 || got.State != store.RunSending || got.PausedAt != nil {
				t.Fatalf("resume = %d %s", r.status, r.body)
			}
			if r, _ := call("cancel", e.keys["runs"], `{"reason": "typo"}`); r.status != http.StatusForbidden {
				t.Fatalf("cancel with the runs scope = %d %s, want 403", r.status, r.body)
			}
			r, got := call("cancel", e.keys["admin"], `{"reason": "typo in the subject"}`)
			if r.status != 200 || got.State != store.RunCanceled || got.Counts["canceled"] != 1 || got.CancelReason != "typo in the subject" {
				t.Fatalf("cancel = %d %s", r.status, r.body)
			}
			rows := e.ledgerRows(rr.ID)
			if len(rows) != 1 || rows[0].State != store.Canceled || rows[0].Error != "typo in the subject" {
				t.Errorf("ledger after cancel: %+v", rows)
			}
			if r := e.do(req{method: "POST", path: "/api/v1/runs/999/pause", key: e.keys["runs"]}); r.status != 404 {
				t.Errorf("pause of a missing run = %d %s", r.status, r.body)
			}
		})
	}
}
