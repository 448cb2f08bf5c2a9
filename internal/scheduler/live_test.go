package scheduler

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/testenv"
)

func yamlWith(subject, schedule string) string {
	s := strings.Replace(campaignYAML, "SUBJECT", subject, 1)
	return strings.Replace(s, "SCHEDULE", schedule, 1)
}

// TestLiveReload checks the reload rules: a valid edit becomes live (and
// enters the catalog), an invalid one keeps the previous version and is
// reported, a fix clears the report, a removed file is no longer live.
func TestLiveReload(t *testing.T) {
	dir := repo(t, yamlWith("v1", ""))
	cat := catalog.New(dir)
	l := NewLive(dir, cat, LiveOptions{})
	var changes atomic.Int32
	l.OnChange(func() { changes.Add(1) })
	if err := l.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	v1 := only(t, l.Versions())
	if v1.ID != "hebdo" || v1.ContentHash == "" || v1.Error != "" || v1.Scheduled || v1.LoadedAt.IsZero() {
		t.Fatalf("first version %+v", v1)
	}
	if sp := cat.Live("hebdo"); sp == nil || sp.ContentHash != v1.ContentHash {
		t.Fatal("catalog does not have the live version")
	}

	steps := []struct {
		name      string
		content   string
		wantErr   string // in the reload error and the version's Error
		wantNew   bool   // a new hash is live
		wantSched bool
	}{
		{name: "valid edit", content: yamlWith("v2", `schedule: { cron: "0 9 * * MON", timezone: Europe/Paris }`), wantNew: true, wantSched: true},
		{name: "broken edit keeps v2", content: yamlWith("v3", `schedule: { cron: "0 9 * * LUNDI" }`), wantErr: "bad cron expression"},
		{name: "unknown key keeps v2", content: yamlWith("v3", `schedul: { cron: "0 9 * * MON" }`), wantErr: "schedul"},
		{name: "fixed", content: yamlWith("v4", ""), wantNew: true},
	}
	prev := v1
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			write(t, filepath.Join(dir, "hebdo.yaml"), st.content)
			err := l.Reload()
			v := only(t, l.Versions())
			if st.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), st.wantErr) || !strings.Contains(v.Error, st.wantErr) {
					t.Fatalf("reload error %v, version error %q, want %q", err, v.Error, st.wantErr)
				}
				if !strings.Contains(v.Error, "hebdo.yaml:") {
					t.Errorf("error %q has no file position", v.Error)
				}
			} else if err != nil || v.Error != "" {
				t.Fatalf("reload error %v, version error %q", err, v.Error)
			}
			if changed := v.ContentHash != prev.ContentHash; changed != st.wantNew {
				t.Fatalf("new version live = %v, want %v", changed, st.wantNew)
			}
			if v.Scheduled != st.wantSched && st.wantNew {
				t.Errorf("scheduled = %v", v.Scheduled)
			}
			if sp := cat.Live("hebdo"); sp.ContentHash != v.ContentHash {
				t.Errorf("catalog live hash %.12s, Live says %.12s", sp.ContentHash, v.ContentHash)
			}
			if specs := l.Specs(); len(specs) != 1 || specs[0].ContentHash != v.ContentHash {
				t.Errorf("Specs does not return the live version")
			}
			prev = v
		})
	}
	if changes.Load() < 3 {
		t.Errorf("OnChange called %d times, want at least 3 (load, v2, v4)", changes.Load())
	}
	// The older versions stay in the catalog for runs still sending them.
	if _, err := cat.Campaign(context.Background(), "hebdo", v1.ContentHash); err != nil {
		t.Errorf("first version gone from the catalog: %v", err)
	}

	t.Run("duplicate id", func(t *testing.T) {
		write(t, filepath.Join(dir, "zz-copy.yaml"), yamlWith("copy", ""))
		err := l.Reload()
		if err == nil || !strings.Contains(err.Error(), `campaign id "hebdo" is also used by`) {
			t.Fatalf("reload error %v", err)
		}
		vs := l.Versions()
		// Both files are errors naming each other; the version that was
		// live before the copy appeared stays live, as for any invalid file.
		if len(vs) != 2 || vs[0].ContentHash != prev.ContentHash || !strings.Contains(vs[0].Error, "zz-copy.yaml") {
			t.Fatalf("the first file is not reported, or its previous version is gone: %+v", vs)
		}
		if vs[1].ID != "zz-copy" || vs[1].ContentHash != "" || !strings.Contains(vs[1].Error, "also used by") {
			t.Errorf("the duplicate is not reported under its file name: %+v", vs[1])
		}
	})
}

// TestLiveRemovedAndNeverValid: a file that never loaded is reported
// without a live version; a removed file's campaign leaves the live set.
func TestLiveRemovedAndNeverValid(t *testing.T) {
	dir := repo(t, yamlWith("v1", ""))
	write(t, filepath.Join(dir, "broken.yaml"), "id: broken\nname: [\n")
	l := NewLive(dir, catalog.New(dir), LiveOptions{})
	if err := l.Reload(); err == nil {
		t.Fatal("broken file not reported")
	}
	vs := l.Versions()
	if len(vs) != 2 || vs[0].ID != "broken" || vs[0].ContentHash != "" || vs[0].Error == "" || vs[1].ID != "hebdo" {
		t.Fatalf("versions %+v", vs)
	}
	if len(l.Specs()) != 1 {
		t.Fatalf("%d live specs, want 1", len(l.Specs()))
	}
	removeFile(t, filepath.Join(dir, "broken.yaml"))
	removeFile(t, filepath.Join(dir, "hebdo.yaml"))
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(l.Versions()) != 0 || len(l.Specs()) != 0 {
		t.Fatalf("removed campaigns still live: %+v", l.Versions())
	}
}

// TestLiveWatch edits files while Run watches the folder: a campaign
// edit and a template edit each make a new version live without a call
// to Reload, and a broken edit is reported while the old version stays.
func TestLiveWatch(t *testing.T) {
	dir := repo(t, yamlWith("v1", ""))
	l := NewLive(dir, catalog.New(dir), LiveOptions{Debounce: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, false) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	v1 := waitVersion(t, l, func(v LiveVersion) bool { return v.ContentHash != "" })

	write(t, filepath.Join(dir, "hebdo.yaml"), yamlWith("v2", ""))
	v2 := waitVersion(t, l, func(v LiveVersion) bool { return v.ContentHash != v1.ContentHash })

	write(t, filepath.Join(filepath.Dir(dir), "templates", "hebdo", "email.txt"),
		"Bonjour {{.Contact.FirstName}},\nNouveau texte.\nSe désinscrire : {{.Links.Unsubscribe}}\n")
	v3 := waitVersion(t, l, func(v LiveVersion) bool { return v.ContentHash != v2.ContentHash })

	write(t, filepath.Join(dir, "hebdo.yaml"), yamlWith("v4", "wrong: key"))
	v4 := waitVersion(t, l, func(v LiveVersion) bool { return v.Error != "" })
	if v4.ContentHash != v3.ContentHash {
		t.Fatalf("broken edit replaced the live version")
	}
}

func waitVersion(t *testing.T, l *Live, ok func(LiveVersion) bool) LiveVersion {
	t.Helper()
	var v LiveVersion
	testenv.WaitFor(t, "the live version", 10*time.Second, func() bool {
		vs := l.Versions()
		if len(vs) == 1 && ok(vs[0]) {
			v = vs[0]
			return true
		}
		return false
	})
	return v
}

func only(t *testing.T, vs []LiveVersion) LiveVersion {
	t.Helper()
	if len(vs) != 1 {
		t.Fatalf("%d versions, want 1: %+v", len(vs), vs)
	}
	return vs[0]
}

// TestLiveHandler serves the live versions as JSON.
func TestLiveHandler(t *testing.T) {
	dir := repo(t, yamlWith("v1", `schedule: { cron: "0 9 * * MON" }`))
	l := NewLive(dir, catalog.New(dir), LiveOptions{})
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var body struct {
		Campaigns []LiveVersion `json:"campaigns"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if rec.Header().Get("Content-Type") != "application/json" || len(body.Campaigns) != 1 ||
		body.Campaigns[0].ContentHash != l.Versions()[0].ContentHash || !body.Campaigns[0].Scheduled {
		t.Fatalf("body %s", rec.Body)
	}
}
