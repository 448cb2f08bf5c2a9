package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// RunPhone runs the store.PhoneStore conformance cases; each subtest gets
// its own empty store from open.
func RunPhone(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ContactsByPhone", testContactsByPhone},
		{"LatestLedgerByContact", testLatestLedgerByContact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func asPhone(t *testing.T, s store.Store) store.PhoneStore {
	t.Helper()
	p, ok := s.(store.PhoneStore)
	if !ok {
		t.Fatalf("%T does not implement store.PhoneStore", s)
	}
	return p
}

func testContactsByPhone(t *testing.T, s store.Store) {
	p := asPhone(t, s)
	a := person("a", "a@example.org", "+33612345678")
	b := person("b", "b@example.org", "+33612345678") // shares the family line
	c := person("c", "c@example.org", "+33698765432")
	d := person("d", "d@example.org", "")
	upsert(t, s, a, b, c, d)
	tests := []struct {
		name  string
		phone string
		want  []int64
	}{
		{"shared number", "+33612345678", []int64{a.ID, b.ID}},
		{"one owner", "+33698765432", []int64{c.ID}},
		{"unknown number", "+33700000000", []int64{}},
		{"empty is no match", "", []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.ContactsByPhone(ctx(t), tc.phone)
			if err != nil {
				t.Fatalf("ContactsByPhone: %v", err)
			}
			if got == nil || len(got) != len(tc.want) {
				t.Fatalf("ContactsByPhone(%s) = %v, want %v", tc.phone, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("ContactsByPhone(%s) = %v, want %v", tc.phone, got, tc.want)
				}
			}
		})
	}
}

func testLatestLedgerByContact(t *testing.T, s store.Store) {
	p := asPhone(t, s)
	r := newRun(t, s, "c1", "k1")
	base := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	row := func(step, ch, provider string, contactID int64, age time.Duration) store.LedgerRow {
		return store.LedgerRow{
			ID: store.LedgerID(r.ID, step, contactID, ch), RunID: r.ID, CampaignID: r.CampaignID, StepID: step,
			ContactID: contactID, Channel: ch, Purpose: "marketing", State: store.Accepted, ProviderID: provider,
			CreatedAt: base.Add(-age), UpdatedAt: base.Add(-age),
		}
	}
	insertLedger(t, s, []store.LedgerRow{
		row("s1", "sms", "SM1", 1, 3*time.Hour),
		row("s2", "mms", "MM2", 1, 2*time.Hour),
		row("s3", "sms", "", 1, time.Hour),      // planned later, never sent
		row("s4", "email", "<m@x>", 1, 0),       // newest, another channel
		row("s1", "sms", "SM9", 2, 5*time.Hour), // another contact
	})
	tests := []struct {
		name     string
		contact  int64
		channels []string
		want     string // provider id, "" for ErrNotFound
	}{
		{"newest sent sms or mms", 1, []string{"sms", "mms"}, "MM2"},
		{"sms only", 1, []string{"sms"}, "SM1"},
		{"every channel", 1, nil, "<m@x>"},
		{"other contact", 2, []string{"sms", "mms"}, "SM9"},
		{"nothing on the channel", 2, []string{"mms"}, ""},
		{"unknown contact", 99, []string{"sms"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.LatestLedgerByContact(ctx(t), tc.contact, tc.channels)
			if tc.want == "" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("LatestLedgerByContact = %+v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LatestLedgerByContact: %v", err)
			}
			if got.ProviderID != tc.want || got.ContactID != tc.contact {
				t.Errorf("LatestLedgerByContact = %s (contact %d), want %s", got.ProviderID, got.ContactID, tc.want)
			}
		})
	}
}
