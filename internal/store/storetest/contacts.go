package storetest

import (
	"fmt"
	"sort"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

func testUpsertMatch(t *testing.T, s store.Store) {
	seed := []*contact.Contact{
		person("ext-1", "Alice@Example.org", "+33612345678"),
		person("", "bob@example.org", ""),
		person("", "", "+33698765432"),
		person("ext-4", "shared@example.org", ""),
	}
	if ins, upd := upsert(t, s, seed...); ins != 4 || upd != 0 {
		t.Fatalf("seed: inserted %d updated %d, want 4 0", ins, upd)
	}
	tests := []struct {
		name     string
		in       []*contact.Contact
		ins, upd int
		wantID   []int64 // 0: a new contact
	}{
		{"by external id despite new email", []*contact.Contact{person("ext-1", "new@example.org", "")}, 0, 1, []int64{seed[0].ID}},
		{"by email, case-insensitive", []*contact.Contact{person("", "BOB@example.org", "")}, 0, 1, []int64{seed[1].ID}},
		{"by email, giving an external id", []*contact.Contact{person("ext-2", "bob@example.org", "")}, 0, 1, []int64{seed[1].ID}},
		{"by phone", []*contact.Contact{person("", "", "+33698765432")}, 0, 1, []int64{seed[2].ID}},
		{"email of another external id is a new person", []*contact.Contact{person("ext-5", "shared@example.org", "")}, 1, 0, []int64{0}},
		{"email without external id matches that person", []*contact.Contact{person("", "shared@example.org", "")}, 0, 1, []int64{seed[3].ID}},
		{"new contacts", []*contact.Contact{person("ext-9", "nine@example.org", ""), person("", "ten@example.org", "")}, 2, 0, []int64{0, 0}},
		{"duplicate within a batch", []*contact.Contact{person("", "dup@example.org", ""), person("", "Dup@example.org", "")}, 1, 1, []int64{0, -1}},
	}
	known := map[int64]bool{}
	for _, c := range seed {
		known[c.ID] = true
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ins, upd := upsert(t, s, tc.in...)
			if ins != tc.ins || upd != tc.upd {
				t.Errorf("inserted %d updated %d, want %d %d", ins, upd, tc.ins, tc.upd)
			}
			for i, want := range tc.wantID {
				got := tc.in[i].ID
				switch {
				case want == -1: // same as the previous one in the batch
					if got != tc.in[i-1].ID {
						t.Errorf("#%d: ID %d, want the batch's earlier %d", i, got, tc.in[i-1].ID)
					}
				case want == 0:
					if known[got] {
						t.Errorf("#%d: ID %d reuses an existing contact, want a new one", i, got)
					}
				case got != want:
					t.Errorf("#%d: ID %d, want %d", i, got, want)
				}
				known[got] = true
			}
		})
	}
	if got := getContact(t, s, seed[0].ID); got.Email != "new@example.org" || got.Phone != "+33612345678" {
		t.Errorf("after update by external id: email %q phone %q", got.Email, got.Phone)
	}
	if got := getContact(t, s, seed[1].ID); got.ExternalID != "ext-2" {
		t.Errorf("external id given on an email match: got %q, want ext-2", got.ExternalID)
	}
	if got := getContact(t, s, seed[3].ID); got.ExternalID != "ext-4" {
		t.Errorf("email match without external id changed it: %q", got.ExternalID)
	}
}

func testUpsertMerge(t *testing.T, s store.Store) {
	full := person("m-1", "m@example.org", "+33611111111")
	full.FirstName, full.LastName, full.Title = "Marie", "Curie", "Mme"
	full.Address = contact.Address{Line1: "1 rue A", Postcode: "75005", City: "PARIS", Country: "FR"}
	full.Attrs = map[string]any{"tier": "gold", "orders": int64(3)}
	full.Consent = map[string]*bool{"email": ptr(true), "sms": ptr(false)}
	upsert(t, s, full)
	before := getContact(t, s, full.ID)

	partial := &contact.Contact{ExternalID: "m-1", Attrs: map[string]any{"orders": int64(4), "new": "x"},
		Consent: map[string]*bool{"sms": ptr(true), "postal": nil}}
	partial.Address.City = "LYON"
	if ins, upd := upsert(t, s, partial); ins != 0 || upd != 1 {
		t.Fatalf("partial: inserted %d updated %d", ins, upd)
	}
	got := getContact(t, s, full.ID)
	tests := []struct {
		name      string
		got, want any
	}{
		{"first name kept", got.FirstName, "Marie"},
		{"email kept", got.Email, "m@example.org"},
		{"email norm kept", got.EmailNorm, "m@example.org"},
		{"phone kept", got.Phone, "+33611111111"},
		{"postcode kept", got.Address.Postcode, "75005"},
		{"city replaced", got.Address.City, "LYON"},
		{"attrs merged", got.Attrs, map[string]any{"tier": "gold", "orders": int64(4), "new": "x"}},
		{"consent merged, unknown ignored", got.Consent, map[string]*bool{"email": ptr(true), "sms": ptr(true)}},
		{"created_at kept", got.CreatedAt, before.CreatedAt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { diff(t, tc.name, tc.got, tc.want) })
	}
	if got.UpdatedAt.Before(before.UpdatedAt) {
		t.Errorf("updated_at went back: %v < %v", got.UpdatedAt, before.UpdatedAt)
	}
}

func testContactRoundTrip(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		c    *contact.Contact
	}{
		{"minimal email contact", &contact.Contact{Email: "a@example.org", EmailNorm: "a@example.org"}},
		{"nil consent stays nil", &contact.Contact{ExternalID: "r-2", Consent: nil}},
		{"consent with refusals", &contact.Contact{ExternalID: "r-3", Consent: map[string]*bool{"email": ptr(false), "sms": ptr(true), "postal": ptr(false)}}},
		{"invalid email kept without norm", &contact.Contact{ExternalID: "r-4", Email: "not an address"}},
		{"unnormalized phone kept raw", &contact.Contact{ExternalID: "r-5", PhoneRaw: "06 12"}},
		{"full business contact", &contact.Contact{
			ExternalID: "r-6", Title: "M.", FirstName: "Élodie", LastName: "Ñandú", Company: "ACME SARL",
			Email: "Contact@Acme.fr", EmailNorm: "contact@acme.fr", Phone: "+33145678901",
			Address: contact.Address{Line1: "Service achats", Line2: "12 bd de la Liberté", Line3: "Bât. B",
				Line4: "Lieu-dit Les Prés", Postcode: "69003", City: "LYON", Country: "FR"},
			Locale: "fr-FR", Timezone: "Europe/Paris", Kind: contact.KindBusiness,
			Attrs: map[string]any{"revenue": 1234.56, "orders": int64(12), "vip": true, "note": "« guillemets »",
				"tags": []any{"a", "b"}, "nested": map[string]any{"n": int64(1)}},
			Consent: map[string]*bool{"email": ptr(true)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := *tc.c
			upsert(t, s, tc.c)
			got := getContact(t, s, tc.c.ID)
			if !recent(got.CreatedAt) || !recent(got.UpdatedAt) {
				t.Errorf("timestamps %v / %v: want recent UTC times", got.CreatedAt, got.UpdatedAt)
			}
			want.ID, want.CreatedAt, want.UpdatedAt = tc.c.ID, got.CreatedAt, got.UpdatedAt
			diff(t, "contact", got, &want)
			if tc.c.Consent == nil && got.Consent != nil {
				t.Errorf("nil consent read back as %v", got.Consent)
			}
		})
	}
}

func testContactLookups(t *testing.T, s store.Store) {
	a, b := person("l-1", "", ""), person("l-2", "", "")
	upsert(t, s, a, b)
	_, err := s.GetContact(ctx(t), b.ID+1000)
	wantNotFound(t, "GetContact(missing)", err)
	tests := []struct {
		name string
		ids  []int64
		want []int64
	}{
		{"none", nil, nil},
		{"both", []int64{a.ID, b.ID}, []int64{a.ID, b.ID}},
		{"missing ones absent", []int64{a.ID, b.ID + 1000, -1}, []int64{a.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := s.GetContactsByID(ctx(t), tc.ids)
			if err != nil {
				t.Fatalf("GetContactsByID: %v", err)
			}
			var got []int64
			for id, c := range m {
				if c.ID != id {
					t.Errorf("map key %d holds contact %d", id, c.ID)
				}
				got = append(got, id)
			}
			sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
			diff(t, "ids", got, tc.want)
		})
	}
}

func testScanContacts(t *testing.T, s store.Store) {
	const n = 2345
	cs := make([]*contact.Contact, n)
	for i := range cs {
		cs[i] = person(fmt.Sprintf("s-%d", i), fmt.Sprintf("s%d@example.org", i), "")
	}
	for start := 0; start < n; start += 1000 {
		upsert(t, s, cs[start:min(start+1000, n)]...)
	}
	tests := []struct {
		name  string
		limit int
	}{
		{"pages of 1000", 1000},
		{"pages of 7", 7},
		{"default limit", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var after int64
			seen, pages := 0, 0
			for {
				page, err := s.ScanContacts(ctx(t), after, tc.limit)
				if err != nil {
					t.Fatalf("ScanContacts: %v", err)
				}
				if len(page) == 0 {
					break
				}
				pages++
				for _, c := range page {
					if c.ID <= after {
						t.Fatalf("ID %d not after %d", c.ID, after)
					}
					if c.ID != cs[seen].ID || c.ExternalID != cs[seen].ExternalID {
						t.Fatalf("row %d: contact %d %q, want %d %q", seen, c.ID, c.ExternalID, cs[seen].ID, cs[seen].ExternalID)
					}
					after = c.ID
					seen++
				}
			}
			if seen != n {
				t.Errorf("scanned %d contacts in %d pages, want %d", seen, pages, n)
			}
		})
	}
}
