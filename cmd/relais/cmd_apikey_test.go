package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// TestAPIKeyCommands creates, lists and revokes a key through the CLI and
// checks the database keeps only the key's hash.
func TestAPIKeyCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "relais.db")
	c := &cli{t: t, env: map[string]string{"RELAIS_DATABASE_URL": "sqlite:" + db, "RELAIS_DATA_DIR": dir,
		"RELAIS_SECRET": "0123456789abcdef0123456789abcdef"}}
	ctx := t.Context()
	r := c.mustRun(ctx, "apikey", "create", "shop", "--scope", "send,events", "--json")
	var out struct{ Key string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("create --json output %q: %v", r.stdout, err)
	}
	id, ok := apikey.ID(out.Key)
	if !ok {
		t.Fatalf("created key %q has not the rk_<id>_<secret> shape", out.Key)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"list", []string{"apikey", "list"}, 0, id},
		{"list hides the key", []string{"apikey", "list", "--json"}, 0, `"scopes":["send","events"]`},
		{"unknown scope", []string{"apikey", "create", "x", "--scope", "root"}, exitUser, ""},
		{"no scope", []string{"apikey", "create", "x"}, exitUser, ""},
		{"revoke unknown", []string{"apikey", "revoke", "000000000000"}, exitUser, ""},
		{"revoke", []string{"apikey", "revoke", id}, 0, "revoked " + id},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(ctx, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stdout, tc.wantOut) {
				t.Fatalf("relais %v = exit %d %q (stderr %q), want exit %d with %q", tc.args, r.code, r.stdout, r.stderr, tc.wantCode, tc.wantOut)
			}
			if strings.Contains(r.stdout, out.Key) {
				t.Errorf("relais %v printed the key again", tc.args)
			}
		})
	}
	s, err := sqlstore.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k, err := s.GetAPIKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !apikey.Verify(out.Key, store.APIKey{Hash: k.Hash}) || k.RevokedAt.IsZero() {
		t.Errorf("stored key = %+v: want the key's hash, revoked", k)
	}
}
