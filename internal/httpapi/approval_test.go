package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/store"
)

// TestRunNeedsApproval: a campaign with approval: required is refused
// (409, field approval) before any run exists while its version has no
// approval, whatever other versions have; once approved it starts.
func TestRunNeedsApproval(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"campaigns/bat.yaml": "purpose: marketing\napproval: required\nchannels: [email]\nsender: { email: \"Maison Dupont <news@dupont.example>\" }\n" +
			"steps:\n  - id: news\n    email: { subject: \"Nouveautés\", text: templates/news.txt }\n",
		"templates/news.txt": "Bonjour {{.Contact.FirstName}}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := campaign.Load(filepath.Join(dir, "campaigns", "bat.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "sqlite", func(d *httpapi.Deps) {
		cat := catalog.New(filepath.Join(dir, "campaigns"))
		cat.Add(sp)
		d.Campaigns = cat
	})
	path := "/api/v1/campaigns/" + sp.ID + "/runs"
	if err := e.store.Approve(t.Context(), store.Approval{CampaignID: sp.ID, Version: "another-version", By: "Claire", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := e.do(req{method: "POST", path: path, key: e.keys["runs"], body: `{"run_key": "k1"}`})
	if r.status != http.StatusConflict || r.apiError(t).Field != "approval" {
		t.Fatalf("POST runs of an unapproved version = %d %s, want 409 approval", r.status, r.body)
	}
	if runs, err := e.store.ListRuns(t.Context(), sp.ID, 10); err != nil || len(runs) != 0 {
		t.Fatalf("the refused request left %d run(s) (%v)", len(runs), err)
	}
	if err := e.store.Approve(t.Context(), store.Approval{CampaignID: sp.ID, Version: sp.ContentHash, By: "Marc", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := e.do(req{method: "POST", path: path, key: e.keys["runs"], body: `{"run_key": "k1"}`}); r.status != http.StatusAccepted {
		t.Fatalf("POST runs of the approved version = %d %s, want 202", r.status, r.body)
	}
	if err := e.srv.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
}
