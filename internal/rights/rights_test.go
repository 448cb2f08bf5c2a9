package rights_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/rights"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func importCSV(t *testing.T, s *sqlstore.Store, name, data string, now time.Time) rights.ImportResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := audience.OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rights.Import(t.Context(), s, src, rights.ImportOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return res
}

// TestReimportNeverUndoesOptOut imports a file with consent, records an
// opt-out, imports the file again, and checks what the policy engine sees
// at each step.
func TestReimportNeverUndoesOptOut(t *testing.T) {
	s := openStore(t)
	eng, err := policy.New(policy.DefaultRules(), s, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	const file = "external_id,email,consent_email\nA1,anne@example.org,oui\nA2,bad-address,1\nA3,carl@example.org,maybe\n"
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	res := importCSV(t, s, "base.csv", file, t0)
	if res.Inserted != 2 || res.Rejected != 1 || res.Consents != 2 {
		t.Errorf("first import = %+v, want 2 inserted, 1 rejected, 2 consents", res)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "base.csv:4: ") {
		t.Errorf("errors = %q, want line 4 (bad consent cell)", res.Errors)
	}
	anne, err := rights.Resolve(t.Context(), s, "Anne@Example.org")
	if err != nil {
		t.Fatal(err)
	}
	decide := func() policy.Decision {
		t.Helper()
		d, err := eng.Decide(t.Context(), policy.Input{Contact: anne, Channel: "email", Purpose: "marketing"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	steps := []struct {
		name   string
		action func()
		want   policy.Verdict
		source string
	}{
		{"imported opt-in allows", func() {}, policy.Allow, "import:base.csv"},
		{"recorded opt-out denies", func() {
			if err := s.SetConsent(t.Context(), anne.ID, "email", "marketing", contact.ConsentState{Status: contact.Refused, Source: "unsubscribe"}); err != nil {
				t.Fatal(err)
			}
		}, policy.Deny, "unsubscribe"},
		{"re-import with oui keeps the opt-out", func() {
			if r := importCSV(t, s, "base.csv", file, t0.Add(48*time.Hour)); r.Updated != 2 || r.Consents != 0 {
				t.Errorf("re-import = %+v, want 2 updated, no consent written", r)
			}
		}, policy.Deny, "unsubscribe"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.action()
			if d := decide(); d.Verdict != st.want {
				t.Errorf("verdict %v (%s), want %v", d.Verdict, d.Reason, st.want)
			}
			doc, err := rights.Export(t.Context(), s, anne, t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Consents) != 1 || doc.Consents[0].Source != st.source {
				t.Errorf("consents %+v, want one from %s", doc.Consents, st.source)
			}
		})
	}
}

func TestArgumentErrors(t *testing.T) {
	s := openStore(t)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"short secret", func() error {
			_, err := rights.Forget(t.Context(), s, []byte("short"), 1, time.Now())
			return err
		}, "secret"},
		{"unknown contact", func() error {
			_, err := rights.Forget(t.Context(), s, secret, 42, time.Now())
			return err
		}, "not found"},
		{"zero retention period", func() error {
			_, err := rights.Retention(t.Context(), s, secret, time.Now(), 0)
			return err
		}, "positive"},
		{"unknown reference", func() error {
			_, err := rights.Resolve(t.Context(), s, "nobody@example.org")
			return err
		}, "no contact"},
		{"nil import source", func() error {
			_, err := rights.Import(t.Context(), s, nil, rights.ImportOptions{})
			return err
		}, "nil source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
