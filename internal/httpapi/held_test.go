package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

// TestHeldRoutes lists, settles and releases the sends of a run held as
// ambiguous through the API: admin scope only, validation errors name the
// field, a settle is recorded with the key and the note, a release puts
// the rows back to planned with a send job each.
func TestHeldRoutes(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			var planner *run.Planner
			e := newEnv(t, backend, func(d *httpapi.Deps) {
				planner = d.Planner.(*run.Planner)
				d.Requeuer = planner
			})
			csv := "external_id,email,first_name,consent_email\nh-1,a@example.org,A,yes\nh-2,b@example.org,B,yes\nh-3,c@example.org,C,yes\nh-4,d@example.org,D,yes\n"
			if r := e.do(req{method: "POST", path: "/api/v1/contacts/import", key: e.keys["contacts"], body: csv, contentType: "text/csv"}); r.status != 200 {
				t.Fatalf("import = %d %s", r.status, r.body)
			}
			r := e.do(req{method: "POST", path: "/api/v1/campaigns/news/runs", key: e.keys["runs"], body: `{"run_key": "held"}`})
			var rr httpapi.RunResponse
			r.json(t, &rr)
			if err := e.srv.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			// No worker runs here: the run's rows are planned; hold them
			// as a lost answer would, and drop their queued jobs.
			rows := e.ledgerRows(rr.ID)
			if len(rows) != 4 {
				t.Fatalf("%d rows, want 4", len(rows))
			}
			for _, row := range rows {
				if ok, err := e.store.Transition(t.Context(), row.ID, []store.State{store.Planned}, store.Ambiguous,
					store.Change{Reason: "no_answer_after_handover", Error: "connection lost after DATA"}); err != nil || !ok {
					t.Fatalf("hold %s: %v %v", row.ID, ok, err)
				}
			}
			if _, err := e.insp.DeleteAllPendingTasks(queue.Marketing); err != nil {
				t.Fatal(err)
			}
			base := "/api/v1/runs/" + itoa(rr.ID) + "/held"

			if r := e.do(req{method: "GET", path: base, key: e.keys["runs"]}); r.status != http.StatusForbidden {
				t.Fatalf("list with the runs scope = %d, want 403", r.status)
			}
			var list httpapi.HeldList
			r = e.do(req{method: "GET", path: base, key: e.keys["admin"]})
			r.json(t, &list)
			if r.status != 200 || len(list.Held) != 4 {
				t.Fatalf("list = %d %s, want 4 held", r.status, r.body)
			}
			if h := list.Held[0]; !strings.HasPrefix(h.Contact, "h-") || h.Channel != "email" || h.LastError != "connection lost after DATA" || h.Since.IsZero() {
				t.Fatalf("held row = %+v", h)
			}
			if r := e.do(req{method: "GET", path: "/api/v1/runs/999/held", key: e.keys["admin"]}); r.status != 404 || r.apiError(t).Field != "id" {
				t.Fatalf("list of a missing run = %d %s", r.status, r.body)
			}

			for _, c := range []struct{ path, body, field string }{
				{"/settle", `{"outcome": "maybe", "note": "x", "all": true}`, "outcome"},
				{"/settle", `{"outcome": "delivered", "all": true}`, "note"},
				{"/settle", `{"outcome": "delivered", "note": "x"}`, "ledger_ids"},
				{"/settle", `{"outcome": "failed", "note": "x", "all": true, "ledger_ids": ["` + list.Held[0].Ledger + `"]}`, "ledger_ids"},
				{"/settle", `{"outcome": "failed", "note": "x", "ledger_ids": ["no-such-row"]}`, "ledger_ids"},
				{"/release", `{}`, "ledger_ids"},
			} {
				r := e.do(req{method: "POST", path: base + c.path, key: e.keys["admin"], body: c.body, invalid: true})
				if r.status != http.StatusUnprocessableEntity || r.apiError(t).Field != c.field {
					t.Errorf("POST %s %s = %d %s, want 422 naming %s", c.path, c.body, r.status, r.body, c.field)
				}
			}

			one := list.Held[0].Ledger
			var settled held.Settled
			r = e.do(req{method: "POST", path: base + "/settle", key: e.keys["admin"],
				body: `{"outcome": "failed", "note": "bounce seen in the mailbox", "ledger_ids": ["` + one + `"]}`})
			r.json(t, &settled)
			if r.status != 200 || settled.Settled != 1 || settled.State != store.Failed {
				t.Fatalf("settle = %d %s", r.status, r.body)
			}
			got, err := e.store.GetLedger(t.Context(), one)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != store.Failed || got.Reason != "settled_by_operator" ||
				!strings.Contains(got.Error, "by api key ") || !strings.HasSuffix(got.Error, ": bounce seen in the mailbox") {
				t.Fatalf("settled row = %s %s %q", got.State, got.Reason, got.Error)
			}

			var released held.Released
			r = e.do(req{method: "POST", path: base + "/release", key: e.keys["admin"], body: `{"all": true}`})
			r.json(t, &released)
			if r.status != 200 || released.Released != 3 || released.Enqueued != 3 {
				t.Fatalf("release = %d %s, want 3 released and enqueued", r.status, r.body)
			}
			counts := map[store.State]int{}
			for _, row := range e.ledgerRows(rr.ID) {
				counts[row.State]++
			}
			if counts[store.Planned] != 3 || counts[store.Failed] != 1 || len(counts) != 2 {
				t.Fatalf("ledger after release: %v", counts)
			}
			if n := e.queued(queue.Marketing); n != 3 {
				t.Fatalf("%d send jobs queued, want 3", n)
			}
			r = e.do(req{method: "GET", path: base, key: e.keys["admin"]})
			r.json(t, &list)
			if len(list.Held) != 0 {
				t.Fatalf("%d still held, want 0", len(list.Held))
			}
		})
	}
}
