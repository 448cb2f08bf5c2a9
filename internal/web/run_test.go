package web_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/web"
)

// TestRunPageListsHeldSends: the run page shows the run's counts and each
// send held as ambiguous with its ledger id, contact ref, channel, since
// and last error; a run with none says so, a missing run is 404.
func TestRunPageListsHeldSends(t *testing.T) {
	st := seededStore(t)
	ctx := t.Context()
	cs := []*contact.Contact{{ExternalID: "K-7", Email: "k7@example.org"}}
	if _, _, err := st.UpsertContacts(ctx, cs); err != nil {
		t.Fatal(err)
	}
	row := store.LedgerRow{RunID: 1, CampaignID: "printemps-2027", StepID: "rappel", ContactID: cs[0].ID,
		Channel: "email", Purpose: "marketing", State: store.Ambiguous, Error: "connection lost after DATA <b>"}
	row.ID = store.LedgerID(row.RunID, row.StepID, row.ContactID, row.Channel)
	if _, err := st.InsertLedger(ctx, []store.LedgerRow{row}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(t, web.Deps{Store: st}))
	defer srv.Close()
	c := client(t)
	login(t, c, srv.URL, testKey, "")

	resp, body := get(t, c, srv.URL+"/ui/runs/1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/runs/1: %d %s", resp.StatusCode, body)
	}
	rows := regexp.MustCompile(`<tr data-ledger="([^"]+)">`).FindAllStringSubmatch(body, -1)
	if len(rows) != 1 || rows[0][1] != row.ID {
		t.Fatalf("held rows on the page: %v, want [%s]", rows, row.ID)
	}
	for _, want := range []string{"<td>K-7</td>", "<td>email</td>", "connection lost after DATA &lt;b&gt;", "UTC</td>",
		`data-state="accepted">5<`, `data-state="ambiguous">1<`, "relais held release 1 --all"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if _, err := st.Transition(ctx, row.ID, []store.State{store.Ambiguous}, store.Delivered, store.Change{}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, c, srv.URL+"/ui/runs/1"); strings.Contains(body, "data-ledger=") || !strings.Contains(body, "No send is held.") {
		t.Errorf("run page after settling still lists held sends:\n%s", body)
	}
	if resp, _ := get(t, c, srv.URL+"/ui/runs/99"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ui/runs/99: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(t, client(t), srv.URL+"/ui/runs/1"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /ui/runs/1 without a session: %d, want a redirect to the login", resp.StatusCode)
	}
}
