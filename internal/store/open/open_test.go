package open_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/testenv"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, url, kind, target string
		wantErr                 bool
	}{
		{"bare relative path", "data/relais.db", "sqlite", "data/relais.db", false},
		{"bare absolute path", "/var/lib/relais.db", "sqlite", "/var/lib/relais.db", false},
		{"sqlite: prefix", "sqlite:relais.db", "sqlite", "relais.db", false},
		{"sqlite:// relative", "sqlite://data/relais.db", "sqlite", "data/relais.db", false},
		{"sqlite:/// absolute", "sqlite:///var/lib/relais.db", "sqlite", "/var/lib/relais.db", false},
		{"postgres", "postgres://u@h/db", "postgres", "postgres://u@h/db", false},
		{"postgresql", "postgresql://u@h/db", "postgres", "postgresql://u@h/db", false},
		{"empty", "  ", "", "", true},
		{"sqlite without path", "sqlite:", "", "", true},
		{"unknown scheme", "mysql://u:pw@h/db", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, target, err := open.Parse(tc.url)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Parse(%q) error %v, want error %v", tc.url, err, tc.wantErr)
			}
			if kind != tc.kind || target != tc.target {
				t.Errorf("Parse(%q) = %q %q, want %q %q", tc.url, kind, target, tc.kind, tc.target)
			}
		})
	}
}

func TestErrorsRedactPassword(t *testing.T) {
	tests := []struct{ name, url string }{
		{"unknown scheme", "mysql://u:s3cret@h/db"},
		{"unreachable postgres", "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open.Open(t.Context(), tc.url)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestOpenBackends(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		url  func(t *testing.T) string
		file string // SQLite file the URL must create
	}{
		{"sqlite path", func(*testing.T) string { return filepath.Join(dir, "a", "one.db") }, filepath.Join(dir, "a", "one.db")},
		{"sqlite: URL", func(*testing.T) string { return "sqlite:" + filepath.Join(dir, "two.db") }, filepath.Join(dir, "two.db")},
		{"sqlite:// URL", func(*testing.T) string { return "sqlite://" + filepath.Join(dir, "three.db") }, filepath.Join(dir, "three.db")},
		{"postgres URL", func(t *testing.T) string { return testenv.PostgresURL(t) }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := open.Open(t.Context(), tc.url(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			r, created, err := s.CreateRun(t.Context(), store.Run{CampaignID: "c", RunKey: "k"})
			if err != nil || !created || r.ID == 0 {
				t.Fatalf("CreateRun on the opened store: %+v %v %v", r, created, err)
			}
			if tc.file != "" {
				if _, err := os.Stat(tc.file); err != nil {
					t.Errorf("database file: %v", err)
				}
			}
		})
	}
}
