package apikey

import (
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

func TestNewAndVerify(t *testing.T) {
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	key, rec, err := New("shop", []string{ScopeSend}, now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	other, _, err := New("shop", []string{ScopeSend}, now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if key == other {
		t.Fatal("two keys are equal")
	}
	id, ok := ID(key)
	if !ok || id != rec.ID {
		t.Fatalf("ID(%q) = %q, %v; want %q", key, id, ok, rec.ID)
	}
	if strings.Contains(string(rec.Hash), key) || len(rec.Hash) != 32 {
		t.Errorf("stored hash has length %d, want a 32-byte SHA-256", len(rec.Hash))
	}
	last := byte('A')
	if key[len(key)-1] == 'A' {
		last = 'B'
	}
	tampered := key[:len(key)-1] + string(last)
	revoked := rec
	revoked.RevokedAt = now
	tests := []struct {
		name string
		key  string
		rec  store.APIKey
		want bool
	}{
		{"same key", key, rec, true},
		{"other key", other, rec, false},
		{"tampered secret", tampered, rec, false},
		{"revoked", key, revoked, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Verify(tc.key, tc.rec); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestID(t *testing.T) {
	key, rec, err := New("x", []string{ScopeAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, want string
		ok              bool
	}{
		{"valid", key, rec.ID, true},
		{"no prefix", strings.TrimPrefix(key, Prefix), "", false},
		{"short secret", key[:len(key)-2], "", false},
		{"non-hex id", Prefix + "zzzzzzzzzzzz" + key[len(Prefix)+12:], "", false},
		{"empty", "", "", false},
		{"bearer garbage", "rk_", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ID(tc.key)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ID(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"list", "send, events,send", "send,events", ""},
		{"admin", "admin", "admin", ""},
		{"unknown", "send,root", "", `unknown scope "root"`},
		{"empty", " , ", "", "no scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScopes(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseScopes(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Errorf("ParseScopes(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	_, send, _ := New("a", []string{ScopeSend}, time.Now())
	_, admin, _ := New("b", []string{ScopeAdmin}, time.Now())
	tests := []struct {
		name  string
		scope string
		admin bool
		want  bool
	}{
		{"own scope", ScopeSend, false, true},
		{"other scope", ScopeContacts, false, false},
		{"admin grants all", ScopeContacts, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := send
			if tc.admin {
				k = admin
			}
			if got := Allows(k, tc.scope); got != tc.want {
				t.Errorf("Allows(%v, %s) = %v, want %v", k.Scopes, tc.scope, got, tc.want)
			}
		})
	}
}
