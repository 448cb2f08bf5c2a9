package audit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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
