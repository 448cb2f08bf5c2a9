package version

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// TestSaveLoad stores a campaign version and loads it back in a process
// without the files: same content hash, same rendered templates.
func TestSaveLoad(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("campaigns/c.yaml", `id: c
name: C
audience:
  source: file
  file: samples/a.csv
channels: [email]
sender:
  email: "Shop <shop@example.org>"
steps:
  - id: first
    email:
      subject: "Hello {{ .Contact.FirstName }}"
      html: templates/c.html
`)
	write("samples/a.csv", "external_id;first_name;email;consent_email\nK1;Ann;ann@example.org;oui\n")
	write("templates/c.html", "<p>Hello {{ .Contact.FirstName }}</p>")
	sp, err := campaign.Load(filepath.Join(root, "campaigns", "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := Save(t.Context(), st, sp); err != nil {
		t.Fatal(err)
	}
	if err := Save(t.Context(), st, sp); err != nil {
		t.Fatalf("saving again: %v", err)
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	got, err := Load(t.Context(), st, campaign.Loader{}, sp.ContentHash)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentHash != sp.ContentHash || got.ID != "c" || string(got.Files["templates/c.html"]) != string(sp.Files["templates/c.html"]) {
		t.Fatalf("loaded %s %s %q", got.ID, got.ContentHash, got.Files["templates/c.html"])
	}
	if got.Templates["templates/c.html"] == nil {
		t.Fatalf("template not compiled: %v", got.Templates)
	}
}

// TestGitCommit reads the commit of a checkout from its .git folder.
func TestGitCommit(t *testing.T) {
	dir := t.TempDir()
	const sha = "0123456789abcdef0123456789abcdef01234567"
	if err := os.MkdirAll(filepath.Join(dir, ".git", "refs", "heads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "packed-refs"), []byte("# pack-refs\n"+sha+" refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "campaigns")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := GitCommit(sub); got != sha {
		t.Fatalf("GitCommit = %q, want %q", got, sha)
	}
	if got := GitCommit(t.TempDir()); got != "" {
		t.Fatalf("GitCommit outside a checkout = %q", got)
	}
}
