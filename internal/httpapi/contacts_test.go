package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
)

func TestContacts(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			key := e.keys["contacts"]
			put := func(body string) resp {
				return e.do(req{method: "PUT", path: "/api/v1/contacts/c-42", key: key, body: body})
			}
			r := put(`{"email": "zoe@example.org", "first_name": "Zoé", "attrs": {"tier": "gold"}}`)
			var cr httpapi.ContactResponse
			r.json(t, &cr)
			if r.status != http.StatusCreated || !cr.Created || cr.ExternalID != "c-42" {
				t.Fatalf("create = %d %s", r.status, r.body)
			}
			r = put(`{"last_name": "Martin"}`)
			var cr2 httpapi.ContactResponse
			r.json(t, &cr2)
			if r.status != http.StatusOK || cr2.ID != cr.ID || cr2.Created {
				t.Fatalf("update = %d %s, want 200 on contact %d", r.status, r.body, cr.ID)
			}
			c, err := e.store.GetContact(t.Context(), cr.ID)
			if err != nil || c.FirstName != "Zoé" || c.LastName != "Martin" || c.EmailNorm != "zoe@example.org" {
				t.Errorf("stored contact = %+v, %v; want the merge of both PUTs", c, err)
			}
			if r := put(`{"external_id": "other"}`); r.status != 422 || r.apiError(t).Field != "external_id" {
				t.Errorf("mismatched external id = %d %s", r.status, r.body)
			}

			// Consent, read back through the policy lookup.
			r = e.do(req{method: "PUT", path: "/api/v1/contacts/c-42/consent", key: key,
				body: `{"channel": "email", "granted": true, "text": "newsletter v2"}`})
			if r.status != http.StatusOK {
				t.Fatalf("consent = %d %s", r.status, r.body)
			}
			st, err := e.store.(policy.Lookup).Consent(t.Context(), cr.ID, "email", contact.PurposeMarketing)
			if err != nil || st.Status != contact.Granted || st.Source != "api" || st.Text != "newsletter v2" {
				t.Errorf("recorded consent = %+v, %v", st, err)
			}
			consentErrs := []struct {
				name, path, body, field string
				status                  int
			}{
				{"bad channel", "/api/v1/contacts/c-42/consent", `{"channel": "fax", "granted": true}`, "channel", 422},
				{"missing granted", "/api/v1/contacts/c-42/consent", `{"channel": "sms"}`, "granted", 422},
				{"unknown contact", "/api/v1/contacts/nobody/consent", `{"channel": "sms", "granted": false}`, "ref", 404},
			}
			for _, tc := range consentErrs {
				t.Run(tc.name, func(t *testing.T) {
					r := e.do(req{method: "PUT", path: tc.path, key: key, body: tc.body, invalid: true})
					if r.status != tc.status || r.apiError(t).Field != tc.field {
						t.Errorf("= %d %s, want %d on %s", r.status, r.body, tc.status, tc.field)
					}
				})
			}

			// Import: CSV with ';', a bad row, and JSONL.
			csv := "external_id;email;first_name;consent_email\n" +
				"c-1;un@example.org;Un;oui\n" +
				"c-2;deux@example.org;Deux;\n" +
				"c-3;trois@example.org;Trois;peut-être\n" +
				"c-42;zoe@example.org;Zoé;non\n"
			r = e.do(req{method: "POST", path: "/api/v1/contacts/import", key: key, body: csv, contentType: "text/csv"})
			var ir httpapi.ImportResponse
			r.json(t, &ir)
			if r.status != http.StatusOK || ir.Inserted != 2 || ir.Updated != 1 || ir.Rejected != 1 || len(ir.Errors) != 1 || ir.Errors[0].Line != 4 {
				t.Fatalf("CSV import = %d %s, want 2 inserted, 1 updated, line 4 rejected", r.status, r.body)
			}
			if strings.Contains(string(r.body), "relais-import") {
				t.Errorf("import answer leaks the spool file name: %s", r.body)
			}
			jsonl := `{"external_id": "c-5", "phone": "06 12 34 56 78", "first_name": "Cinq"}` + "\n"
			r = e.do(req{method: "POST", path: "/api/v1/contacts/import", key: key, body: jsonl, contentType: "application/x-ndjson"})
			r.json(t, &ir)
			if r.status != http.StatusOK || ir.Inserted != 1 {
				t.Fatalf("JSONL import = %d %s", r.status, r.body)
			}
			if r := e.do(req{method: "POST", path: "/api/v1/contacts/import", key: key, body: "a,b\n", contentType: "application/pdf", invalid: true}); r.status != http.StatusUnsupportedMediaType {
				t.Errorf("PDF import = %d %s, want 415", r.status, r.body)
			}
			id5, err := e.api.ResolveExternalID(t.Context(), "c-5")
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := e.store.GetContact(t.Context(), id5); c.Phone != "+33612345678" {
				t.Errorf("imported phone = %q, want E.164", c.Phone)
			}

			// Export, then erasure (twice: idempotent).
			r = e.do(req{method: "GET", path: "/api/v1/contacts/c-42/export", key: key})
			if r.status != http.StatusOK || !strings.Contains(string(r.body), "zoe@example.org") {
				t.Fatalf("export = %d %s", r.status, r.body)
			}
			for i, want := range []bool{true, false} {
				r = e.do(req{method: "DELETE", path: "/api/v1/contacts/id:" + itoa(cr.ID), key: key})
				var fr httpapi.ForgetResponse
				r.json(t, &fr)
				if r.status != http.StatusOK || fr.Erased != want {
					t.Errorf("forget #%d = %d %s, want erased=%v", i+1, r.status, r.body, want)
				}
			}
			if c, _ := e.store.GetContact(t.Context(), cr.ID); c.Email != "" || c.FirstName != "" {
				t.Errorf("forgotten contact still holds PII: %+v", c)
			}
			if r := e.do(req{method: "GET", path: "/api/v1/contacts/c-42/export", key: key, invalid: true}); r.status != http.StatusNotFound {
				t.Errorf("export by erased external id = %d %s, want 404", r.status, r.body)
			}
		})
	}
}

// TestRightsNotWired checks the 501 answer when no exporter or forgetter
// is configured.
func TestRightsNotWired(t *testing.T) {
	e := newEnv(t, "sqlite", func(d *httpapi.Deps) { d.Exporter, d.Forgetter = nil, nil })
	for _, rq := range []req{
		{method: "GET", path: "/api/v1/contacts/x/export", key: e.keys["contacts"]},
		{method: "DELETE", path: "/api/v1/contacts/x", key: e.keys["contacts"]},
	} {
		if r := e.do(rq); r.status != http.StatusNotImplemented || r.apiError(t).Code != httpapi.CodeNotImplemented {
			t.Errorf("%s %s = %d %s, want 501", rq.method, rq.path, r.status, r.body)
		}
	}
}

func TestRuns(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			csv := "external_id,email,first_name,consent_email\nn-1,a@example.org,A,yes\nn-2,b@example.org,B,no\n"
			if r := e.do(req{method: "POST", path: "/api/v1/contacts/import", key: e.keys["contacts"], body: csv, contentType: "text/csv"}); r.status != 200 {
				t.Fatalf("import = %d %s", r.status, r.body)
			}
			start := func() (resp, httpapi.RunResponse) {
				r := e.do(req{method: "POST", path: "/api/v1/campaigns/news/runs", key: e.keys["runs"], body: `{"run_key": "2027-W10"}`})
				var rr httpapi.RunResponse
				r.json(t, &rr)
				return r, rr
			}
			r, rr := start()
			if r.status != http.StatusAccepted || rr.RunKey != "2027-W10" || rr.ID == 0 {
				t.Fatalf("start = %d %s", r.status, r.body)
			}
			if err := e.srv.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			r = e.do(req{method: "GET", path: "/api/v1/runs/" + itoa(rr.ID), key: e.keys["runs"]})
			var got httpapi.RunResponse
			r.json(t, &got)
			if r.status != 200 || got.State != store.RunSending || got.Counts["planned"] != 1 || got.Counts["refused:opted_out"] != 1 {
				t.Errorf("run = %d %s, want sending with 1 planned and 1 refused as opted out", r.status, r.body)
			}
			again, rr2 := start()
			if again.status != http.StatusOK || rr2.ID != rr.ID {
				t.Errorf("same run key = %d %s, want 200 with run %d", again.status, again.body, rr.ID)
			}
			if err := e.srv.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if q := e.queued("marketing"); q != 1 {
				t.Errorf("marketing queue holds %d tasks, want 1", q)
			}
			if r := e.do(req{method: "GET", path: "/api/v1/runs/abc", key: e.keys["runs"], invalid: true}); r.status != 422 || r.apiError(t).Field != "id" {
				t.Errorf("bad run id = %d %s", r.status, r.body)
			}
			if r := e.do(req{method: "POST", path: "/api/v1/campaigns/news/runs", key: e.keys["runs"], body: `{"runkey": "x"}`, invalid: true}); r.status != 422 || r.apiError(t).Field != "runkey" {
				t.Errorf("unknown field = %d %s", r.status, r.body)
			}
		})
	}
}
