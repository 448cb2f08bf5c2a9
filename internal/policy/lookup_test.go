package policy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// memLookup is an in-memory Lookup, the same contract the store
// implements, safe for concurrent use.
type memLookup struct {
	mu         sync.Mutex
	consent    map[memConsentKey]contact.ConsentState
	suppressed map[string]string // key → reason
	sent       map[int64][]time.Time
	err        error // returned by every method when set
}

type memConsentKey struct {
	id               int64
	channel, purpose string
}

func newMemLookup() *memLookup {
	return &memLookup{
		consent:    map[memConsentKey]contact.ConsentState{},
		suppressed: map[string]string{},
		sent:       map[int64][]time.Time{},
	}
}

func (m *memLookup) Consent(_ context.Context, id int64, ch, purpose string) (contact.ConsentState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return contact.ConsentState{}, m.err
	}
	return m.consent[memConsentKey{id, ch, purpose}], nil
}

func (m *memLookup) Suppressed(_ context.Context, key string) (bool, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, "", m.err
	}
	why, ok := m.suppressed[key]
	return ok, why, nil
}

func (m *memLookup) MarketingSentSince(_ context.Context, id int64, since time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	n := 0
	for _, t := range m.sent[id] {
		if !t.Before(since) {
			n++
		}
	}
	return n, nil
}

func (m *memLookup) setConsent(id int64, ch, purpose string, s contact.ConsentStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.consent[memConsentKey{id, ch, purpose}] = contact.ConsentState{Status: s, Source: "test", At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (m *memLookup) suppress(key, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.suppressed[key] = reason
}

func (m *memLookup) addSent(id int64, at ...time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[id] = append(m.sent[id], at...)
}

var _ Lookup = (*memLookup)(nil)

// paris is loaded once per test through mustLoc; tuesday10 is an
// ordinary open moment: Tuesday 10 March 2026, 10:00 in Paris.
func tuesday10(t *testing.T) time.Time {
	t.Helper()
	return time.Date(2026, 3, 10, 10, 0, 0, 0, mustLoc(t, "Europe/Paris"))
}

// fullContact returns a stored contact with an address on every channel
// (a letter needs a recipient name for its NF Z10-011 block).
func fullContact(kind string) *contact.Contact {
	return &contact.Contact{
		ID:        42,
		Kind:      kind,
		FirstName: "Jeanne",
		LastName:  "Martin",
		Email:     "Jeanne.Martin@Example.fr",
		Phone:     "+33612345678",
		Address: contact.Address{
			Line1: "12 rue de la République", Postcode: "69002", City: "LYON", Country: "FR",
		},
	}
}

// newEngine returns an engine over lookup with the default rules and a
// clock fixed at now.
func newEngine(t *testing.T, lookup Lookup, now time.Time) *Engine {
	t.Helper()
	e, err := New(DefaultRules(), lookup, testSecret, func() time.Time { return now })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// check asserts a decision's verdict and reason.
func check(t *testing.T, got Decision, err error, verdict Verdict, reason string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if got.Verdict != verdict || got.Reason != reason {
		t.Errorf("Decide = %s/%q (detail %q), want %s/%q", got.Verdict, got.Reason, got.Detail, verdict, reason)
	}
}
