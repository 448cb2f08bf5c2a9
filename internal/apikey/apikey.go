// Package apikey makes and checks the bearer keys of the HTTP API. A key
// is "rk_<id>_<secret>": the id (public, 12 hex digits) finds the stored
// record, the secret (32 random bytes, base64url) is never stored, only the
// SHA-256 of the whole key, compared in constant time.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// Prefix starts every key, so secret scanners and people recognise one.
const Prefix = "rk_"

// Scopes. Admin grants every other scope.
const (
	ScopeSend     = "send"     // transactional sends
	ScopeRuns     = "runs"     // start and read runs
	ScopeContacts = "contacts" // upsert, import, export, forget, consent
	ScopeEvents   = "events"   // responses and conversions
	ScopeReports  = "reports"  // read reports, the dashboard (read-only)
	ScopeMetrics  = "metrics"  // scrape /metrics
	ScopeAdmin    = "admin"    // everything, including queue actions
)

// AllScopes lists the valid scopes in a stable order.
var AllScopes = []string{ScopeSend, ScopeRuns, ScopeContacts, ScopeEvents, ScopeReports, ScopeMetrics, ScopeAdmin}

const (
	idBytes     = 6
	secretBytes = 32
)

// ParseScopes splits a comma-separated scope list, trimming spaces and
// dropping duplicates. An empty list or an unknown scope is an error
// naming it.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(AllScopes, p) {
			return nil, fmt.Errorf("unknown scope %q (want %s)", p, strings.Join(AllScopes, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope given (want some of %s)", strings.Join(AllScopes, ", "))
	}
	return out, nil
}

// New generates a key named name with scopes (already checked by
// ParseScopes). It returns the key, to show once, and the record to store.
// It fails only when the system's random source does.
func New(name string, scopes []string, now time.Time) (string, store.APIKey, error) {
	buf := make([]byte, idBytes+secretBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", store.APIKey{}, fmt.Errorf("api key: random: %w", err)
	}
	id := hex.EncodeToString(buf[:idBytes])
	key := Prefix + id + "_" + base64.RawURLEncoding.EncodeToString(buf[idBytes:])
	return key, store.APIKey{ID: id, Name: name, Hash: Hash(key), Scopes: scopes, CreatedAt: now.UTC()}, nil
}

// Hash returns the stored form of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ID returns the key id embedded in key, and false when key does not have
// the shape of a relais key (so no lookup is made for garbage).
func ID(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 2*idBytes || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return id, true
}

// Verify reports whether key matches the stored record k and k is not
// revoked. The hash comparison takes constant time.
func Verify(key string, k store.APIKey) bool {
	ok := subtle.ConstantTimeCompare(Hash(key), k.Hash) == 1
	return ok && k.RevokedAt.IsZero()
}

// Allows reports whether k grants scope (admin grants all).
func Allows(k store.APIKey, scope string) bool {
	return slices.Contains(k.Scopes, scope) || slices.Contains(k.Scopes, ScopeAdmin)
}
