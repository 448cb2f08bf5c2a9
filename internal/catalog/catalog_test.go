package catalog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/version"
)

// TestCampaignFromDatabase: a catalog whose folder does not exist (a
// worker without a checkout) finds a version in the database, keeps it,
// and does not make it the live version.
func TestCampaignFromDatabase(t *testing.T) {
	root := t.TempDir()
	for p, s := range map[string]string{
		"campaigns/c.yaml": "id: c\nname: C\nchannels: [email]\nsender:\n  email: \"Shop <shop@example.org>\"\n" +
			"steps:\n  - id: first\n    email:\n      subject: Hello\n      text: templates/c.txt\n",
		"templates/c.txt": "Hello {{ .Contact.FirstName }}",
	} {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := campaign.Load(filepath.Join(root, "campaigns", "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := version.Save(t.Context(), st, sp); err != nil {
		t.Fatal(err)
	}
	c := New(filepath.Join(t.TempDir(), "absent"))
	c.Versions = st
	got, err := c.Campaign(t.Context(), "c", sp.ContentHash)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentHash != sp.ContentHash || string(got.Files["templates/c.txt"]) != "Hello {{ .Contact.FirstName }}" {
		t.Fatalf("loaded %s with files %v", got.ContentHash, got.Files)
	}
	if again, _ := c.Campaign(t.Context(), "c", sp.ContentHash); again != got {
		t.Error("the version was loaded twice")
	}
	if c.Live("c") != nil {
		t.Error("a stored version became the live one")
	}
	if _, err := c.Campaign(t.Context(), "other", sp.ContentHash); err == nil {
		t.Error("a version was returned under another campaign id")
	}
}
