package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
)

// Outside a git checkout the folder's files are shown when they match and
// the commit is unknown; a version the folder no longer has has no files.
func TestFindOutsideGit(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("campaigns/c.yaml", "id: c\npurpose: transactional\nsender: { sms: DUPONT }\nchannels: [sms]\nsteps:\n  - id: s\n    sms: { text: templates/s.txt }\n")
	write("templates/s.txt", "Votre commande est prête.\n")
	l := &Locator{Dir: filepath.Join(dir, "campaigns")}
	ctx := context.Background()
	v, err := l.Find(ctx, "c", "nope")
	if err != nil {
		t.Fatal(err)
	}
	if v.LiveHash == "" || v.Matches() || v.Source != "" || len(v.Files) != 0 || v.Commit != "" {
		t.Errorf("unknown version: %+v", v)
	}
	v, err = l.Find(ctx, "c", v.LiveHash)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Matches() || v.Source != SourceFolder || len(v.Files) == 0 {
		t.Errorf("live version: %+v", v)
	}
	if v, _ := l.Find(ctx, "other", "x"); v.File != "" {
		t.Errorf("unknown campaign: %+v", v)
	}
	if c := l.Commit(ctx, "c", v.LiveHash); c != "" {
		t.Errorf("commit outside git: %q", c)
	}
}

// A worker without the campaigns folder finds a run's version, files and
// commit in the copy the database kept when the run started.
func TestFindStoredVersion(t *testing.T) {
	ctx := context.Background()
	st, err := storeopen.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	campaignFile := []byte("id: c\n")
	tmpl := []byte("Bonjour\n")
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	err = st.SaveCampaignVersion(ctx, store.CampaignVersion{
		Hash: "h1", CampaignID: "c", Path: "campaigns/c.yaml",
		Files:  map[string]string{"campaigns/c.yaml": sum(campaignFile), "templates/t.txt": sum(tmpl)},
		Commit: "0123abcd", CreatedAt: time.Now(),
	}, map[string][]byte{sum(campaignFile): campaignFile, sum(tmpl): tmpl})
	if err != nil {
		t.Fatal(err)
	}
	l := &Locator{Dir: t.TempDir(), Versions: st}
	v, err := l.Find(ctx, "c", "h1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Source != SourceStored || v.Commit != "0123abcd" || len(v.Files) != 2 ||
		v.Files[0].Path != "campaigns/c.yaml" || string(v.Files[1].Content) != "Bonjour\n" {
		t.Fatalf("stored version: %+v", v)
	}
	if c := l.Commit(ctx, "c", "h1"); c != "0123abcd" {
		t.Fatalf("commit %q", c)
	}
	if v, err := l.Find(ctx, "c", "unknown"); err != nil || v.Source != "" || len(v.Files) != 0 {
		t.Fatalf("unknown version: %+v %v", v, err)
	}
}
