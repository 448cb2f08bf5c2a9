package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// PolicyStore is what both backends add to store.Store for the policy
// engine (its Lookup) and for opt-outs.
type PolicyStore interface {
	Consent(ctx context.Context, contactID int64, consentChannel, purpose string) (contact.ConsentState, error)
	Suppressed(ctx context.Context, key string) (bool, string, error)
	MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error)
	Suppress(ctx context.Context, key, reason string) error
	SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error
}

func asPolicy(t *testing.T, s store.Store) PolicyStore {
	t.Helper()
	p, ok := s.(PolicyStore)
	if !ok {
		t.Fatalf("%T does not implement the policy lookups", s)
	}
	return p
}

func testSuppressions(t *testing.T, s store.Store) {
	p := asPolicy(t, s)
	for _, add := range []struct{ key, reason string }{
		{"k1", contact.SuppressOptedOut},
		{"k1", contact.SuppressOptedOut}, // again: no-op
		{"k2", contact.SuppressOptedOut},
		{"k2", contact.SuppressHardBounce},
		{"k3", contact.SuppressOptedOut},
		{"k3", contact.SuppressErased},
	} {
		if err := p.Suppress(ctx(t), add.key, add.reason); err != nil {
			t.Fatalf("Suppress(%s, %s): %v", add.key, add.reason, err)
		}
	}
	tests := []struct {
		name, key  string
		suppressed bool
		reason     string
	}{
		{"not listed", "k0", false, ""},
		{"opted out", "k1", true, contact.SuppressOptedOut},
		{"hard bounce outranks opt-out", "k2", true, contact.SuppressHardBounce},
		{"erasure outranks all", "k3", true, contact.SuppressErased},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, err := p.Suppressed(ctx(t), tc.key)
			if err != nil {
				t.Fatalf("Suppressed: %v", err)
			}
			if ok != tc.suppressed || reason != tc.reason {
				t.Errorf("Suppressed(%s) = %v %q, want %v %q", tc.key, ok, reason, tc.suppressed, tc.reason)
			}
		})
	}
}

func testConsent(t *testing.T, s store.Store) {
	p := asPolicy(t, s)
	c := person("cons-1", "c@example.org", "")
	c.Consent = map[string]*bool{"email": ptr(true), "sms": ptr(false)}
	upsert(t, s, c)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := p.SetConsent(ctx(t), c.ID, "postal", "marketing", contact.ConsentState{
		Status: contact.Refused, Source: "api", Text: "v2", At: at}); err != nil {
		t.Fatalf("SetConsent: %v", err)
	}
	if err := p.SetConsent(ctx(t), c.ID, "email", "open_tracking", contact.ConsentState{
		Status: contact.Granted, Source: "form", Text: "v1", At: at}); err != nil {
		t.Fatalf("SetConsent: %v", err)
	}
	if err := p.SetConsent(ctx(t), c.ID, "email", "marketing", contact.ConsentState{Status: contact.Unknown}); err == nil {
		t.Error("SetConsent accepted status Unknown")
	}
	tests := []struct {
		name             string
		contact          int64
		channel, purpose string
		status           contact.ConsentStatus
		source           string
	}{
		{"imported grant", c.ID, "email", "marketing", contact.Granted, "import"},
		{"imported refusal", c.ID, "sms", "marketing", contact.Refused, "import"},
		{"recorded refusal with proof", c.ID, "postal", "marketing", contact.Refused, "api"},
		{"other purpose recorded", c.ID, "email", "open_tracking", contact.Granted, "form"},
		{"other purpose not imported", c.ID, "sms", "open_tracking", contact.Unknown, ""},
		{"missing contact", c.ID + 99, "email", "marketing", contact.Unknown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := p.Consent(ctx(t), tc.contact, tc.channel, tc.purpose)
			if err != nil {
				t.Fatalf("Consent: %v", err)
			}
			if st.Status != tc.status || st.Source != tc.source {
				t.Errorf("Consent = %+v, want status %v source %q", st, tc.status, tc.source)
			}
			if tc.source == "api" && (st.Text != "v2" || !st.At.Equal(at)) {
				t.Errorf("proof = %q %v, want v2 %v", st.Text, st.At, at)
			}
		})
	}
	// A withdrawal recorded later overrides the imported grant.
	if err := p.SetConsent(ctx(t), c.ID, "email", "marketing", contact.ConsentState{Status: contact.Refused, Source: "unsubscribe"}); err != nil {
		t.Fatalf("SetConsent: %v", err)
	}
	st, err := p.Consent(ctx(t), c.ID, "email", "marketing")
	if err != nil || st.Status != contact.Refused || st.Source != "unsubscribe" || !recent(st.At) {
		t.Errorf("after withdrawal: %+v, %v", st, err)
	}
}
