package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/relais-dev/relais/internal/httpapi"
)

// TestBulkTransactionalRun checks a bulk run of a transactional campaign
// (which skips marketing consent) needs an admin key and stays within the
// campaign's max_recipients.
func TestBulkTransactionalRun(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	csv := "external_id,email,first_name,consent_email\nn-1,a@example.org,A,yes\nn-2,b@example.org,B,no\n"
	if r := e.do(req{method: "POST", path: "/api/v1/contacts/import", key: e.keys["contacts"], body: csv, contentType: "text/csv"}); r.status != 200 {
		t.Fatalf("import = %d %s", r.status, r.body)
	}
	tests := []struct {
		name, campaign, scope string
		status                int
		field                 string
	}{
		{"runs key refused", "notice", "runs", http.StatusForbidden, ""},
		{"admin over the default bound of 1", "confirm", "admin", http.StatusUnprocessableEntity, "max_recipients"},
		{"admin within max_recipients", "notice", "admin", http.StatusAccepted, ""},
		{"marketing runs unchanged", "news", "runs", http.StatusAccepted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: "POST", path: "/api/v1/campaigns/" + tc.campaign + "/runs", key: e.keys[tc.scope], body: `{"run_key": "k1"}`})
			if r.status != tc.status {
				t.Fatalf("POST runs = %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.field != "" && r.apiError(t).Field != tc.field {
				t.Errorf("error field %q, want %q", r.apiError(t).Field, tc.field)
			}
			if r.status == http.StatusAccepted {
				var rr httpapi.RunResponse
				r.json(t, &rr)
				if rr.ConsentBypassed != (tc.campaign == "notice") {
					t.Errorf("consent_bypassed = %v", rr.ConsentBypassed)
				}
			}
		})
	}
	if err := e.srv.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
}
