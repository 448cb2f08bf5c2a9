package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// RunRights runs the conformance cases of store.RightsStore; each subtest
// gets its own empty store from open. Both backends' tests call it.
func RunRights(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"FindContacts", testFindContacts},
		{"ImportConsents", testImportConsents},
		{"EraseContact", testEraseContact},
		{"InactiveContacts", testInactiveContacts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func asRights(t *testing.T, s store.Store) store.RightsStore {
	t.Helper()
	r, ok := s.(store.RightsStore)
	if !ok {
		t.Fatalf("%T does not implement store.RightsStore", s)
	}
	return r
}

func eventStore(t *testing.T, s store.Store) store.EventStore {
	t.Helper()
	e, ok := s.(store.EventStore)
	if !ok {
		t.Fatalf("%T does not implement store.EventStore", s)
	}
	return e
}

// normalized returns a contact the way an import leaves one.
func normalized(c *contact.Contact) *contact.Contact {
	c.Normalize()
	return c
}

func testFindContacts(t *testing.T, s store.Store) {
	r := asRights(t, s)
	a := normalized(&contact.Contact{ExternalID: "C1", Email: "Anne.Martin@Example.org", Phone: "06 12 34 56 78"})
	b := normalized(&contact.Contact{Email: "bruno@example.org"})
	upsert(t, s, a, b)
	tests := []struct {
		name, ref string
		want      []int64
	}{
		{"external id", "C1", []int64{a.ID}},
		{"email in another case", "  anne.martin@EXAMPLE.org ", []int64{a.ID}},
		{"national phone", "06 12 34 56 78", []int64{a.ID}},
		{"E.164 phone", "+33612345678", []int64{a.ID}},
		{"contact without external id", "bruno@example.org", []int64{b.ID}},
		{"unknown", "nobody@example.org", nil},
		{"empty reference matches nothing", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.FindContacts(ctx(t), tc.ref)
			if err != nil {
				t.Fatalf("FindContacts: %v", err)
			}
			var ids []int64
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			diff(t, "ids", ids, tc.want)
		})
	}
}

func testImportConsents(t *testing.T, s store.Store) {
	r := asRights(t, s)
	p := asPolicy(t, s)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	imp := func(id int64, granted bool) store.ConsentRecord {
		return store.ConsentRecord{ContactID: id, Channel: "email", Purpose: contact.PurposeMarketing, Granted: granted,
			Source: store.ImportSourcePrefix + "clients.csv", At: t0.Add(time.Hour)}
	}
	tests := []struct {
		name        string
		before      *contact.ConsentState // recorded before the import
		imported    bool
		wantWritten int
		wantStatus  contact.ConsentStatus
		wantSource  string
	}{
		{"nothing recorded: a grant is written", nil, true, 1, contact.Granted, "import:clients.csv"},
		{"nothing recorded: a refusal is written", nil, false, 1, contact.Refused, "import:clients.csv"},
		{"an opt-out is never undone by an import", &contact.ConsentState{Status: contact.Refused, Source: "unsubscribe", At: t0}, true, 0, contact.Refused, "unsubscribe"},
		{"an imported refusal is not undone either", &contact.ConsentState{Status: contact.Refused, Source: "import:old.csv", At: t0}, true, 0, contact.Refused, "import:old.csv"},
		{"a refusal replaces a grant", &contact.ConsentState{Status: contact.Granted, Source: "api", Text: "v1", At: t0}, false, 1, contact.Refused, "import:clients.csv"},
		{"a grant keeps the proof it has", &contact.ConsentState{Status: contact.Granted, Source: "api", Text: "v1", At: t0}, true, 0, contact.Granted, "api"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := normalized(&contact.Contact{ExternalID: "K" + string(rune('a'+i)), Email: "k@example.org"})
			upsert(t, s, c)
			if tc.before != nil {
				if err := p.SetConsent(ctx(t), c.ID, "email", contact.PurposeMarketing, *tc.before); err != nil {
					t.Fatalf("SetConsent: %v", err)
				}
			}
			n, err := r.ImportConsents(ctx(t), []store.ConsentRecord{imp(c.ID, tc.imported)})
			if err != nil {
				t.Fatalf("ImportConsents: %v", err)
			}
			if n != tc.wantWritten {
				t.Errorf("written = %d, want %d", n, tc.wantWritten)
			}
			st, err := p.Consent(ctx(t), c.ID, "email", contact.PurposeMarketing)
			if err != nil {
				t.Fatalf("Consent: %v", err)
			}
			if st.Status != tc.wantStatus || st.Source != tc.wantSource {
				t.Errorf("consent = %v from %q, want %v from %q", st.Status, st.Source, tc.wantStatus, tc.wantSource)
			}
			recs, err := r.ListConsents(ctx(t), c.ID)
			if err != nil {
				t.Fatalf("ListConsents: %v", err)
			}
			if len(recs) != 1 || recs[0].Source != tc.wantSource || recs[0].ContactID != c.ID || recs[0].At.IsZero() {
				t.Errorf("ListConsents = %+v", recs)
			}
		})
	}
}

func testEraseContact(t *testing.T, s store.Store) {
	r := asRights(t, s)
	p := asPolicy(t, s)
	yes := true
	c := normalized(&contact.Contact{ExternalID: "E1", Title: "Mme", FirstName: "Élise", LastName: "Garnier", Company: "Atelier",
		Email: "elise.garnier@example.org", Phone: "06 98 76 54 32",
		Address: contact.Address{Line1: "3 rue des Lilas", Postcode: "69003", City: "Lyon"},
		Attrs:   map[string]any{"orders_12m": 2.0}, Consent: map[string]*bool{"email": &yes}})
	other := normalized(&contact.Contact{ExternalID: "E2", Email: "other@example.org"})
	upsert(t, s, c, other)
	if err := p.SetConsent(ctx(t), c.ID, "sms", contact.PurposeMarketing, contact.ConsentState{Status: contact.Refused, Source: "sms:STOP"}); err != nil {
		t.Fatalf("SetConsent: %v", err)
	}
	run := newRun(t, s, "camp", "k")
	rows := []store.LedgerRow{
		{ID: store.LedgerID(run.ID, "s", c.ID, "email"), RunID: run.ID, CampaignID: "camp", StepID: "s", ContactID: c.ID, Channel: "email", Purpose: "marketing", State: store.Planned},
		{ID: store.LedgerID(run.ID, "s", other.ID, "email"), RunID: run.ID, CampaignID: "camp", StepID: "s", ContactID: other.ID, Channel: "email", Purpose: "marketing", State: store.Planned},
	}
	insertLedger(t, s, rows)
	ev := eventStore(t, s)
	if _, err := ev.RecordEvents(ctx(t), []store.Event{
		{LedgerID: rows[0].ID, Type: store.EventReplied, Detail: "Oui merci, Élise", At: time.Now()},
		{LedgerID: rows[0].ID, Type: store.EventClicked, URL: "https://shop.example/p?email=elise.garnier%40example.org", At: time.Now()},
		{LedgerID: rows[0].ID, Type: store.EventClicked, URL: "https://shop.example/u/elise.garnier%40example.org/GARNIER-cart/0698765432/panier#top", At: time.Now()},
		{LedgerID: rows[1].ID, Type: store.EventReplied, Detail: "kept", At: time.Now()},
	}); err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	wantKeys := contact.SuppressionKeys(secret, c)
	if len(wantKeys) != 3 {
		t.Fatalf("fixture has %d addresses, want email, phone and postal", len(wantKeys))
	}
	keysOf := func(sc *contact.Contact) []string {
		var ks []string
		for _, k := range contact.SuppressionKeys(secret, sc) {
			ks = append(ks, k)
		}
		return ks
	}
	at := time.Now().UTC().Truncate(time.Second)
	erased, err := r.EraseContact(ctx(t), c.ID, keysOf, at)
	if err != nil || !erased {
		t.Fatalf("EraseContact = %v, %v; want true", erased, err)
	}

	got := getContact(t, s, c.ID)
	if got.ErasedAt.IsZero() || !got.ErasedAt.Equal(at) {
		t.Errorf("ErasedAt = %v, want %v", got.ErasedAt, at)
	}
	blank := *got
	blank.ID, blank.Kind, blank.CreatedAt, blank.UpdatedAt, blank.ErasedAt = 0, "", time.Time{}, time.Time{}, time.Time{}
	blank.Attrs = nil
	if len(got.Attrs) != 0 || blank.ExternalID != "" || blank.Email != "" || blank.EmailNorm != "" || blank.Phone != "" ||
		blank.FirstName+blank.LastName+blank.Title+blank.Company+blank.PhoneRaw+blank.Locale+blank.Timezone != "" ||
		blank.Address != (contact.Address{}) || len(blank.Consent) != 0 {
		t.Errorf("erased contact still holds personal data: %+v", got)
	}
	for addr, k := range wantKeys {
		ok, reason, err := p.Suppressed(ctx(t), k)
		if err != nil || !ok || reason != contact.SuppressErased {
			t.Errorf("%s key: Suppressed = %v %q %v, want erased", addr, ok, reason, err)
		}
	}
	if st, err := p.Consent(ctx(t), c.ID, "email", contact.PurposeMarketing); err != nil || st.Status != contact.Unknown {
		t.Errorf("imported consent survived erasure: %+v %v", st, err)
	}
	if found, err := r.FindContacts(ctx(t), "elise.garnier@example.org"); err != nil || len(found) != 0 {
		t.Errorf("FindContacts after erasure = %d contacts, %v", len(found), err)
	}
	evs, err := r.ContactEvents(ctx(t), c.ID)
	if err != nil || len(evs) != 3 {
		t.Fatalf("ContactEvents = %d, %v; want the 3 events kept", len(evs), err)
	}
	for _, e := range evs {
		if e.Detail != "" || strings.ContainsAny(e.URL, "?#") || strings.Contains(strings.ToLower(e.URL), "garnier") || strings.Contains(e.URL, "98765432") {
			t.Errorf("event %d not anonymised: detail %q url %q", e.ID, e.Detail, e.URL)
		}
	}
	urls := map[string]bool{}
	for _, e := range evs {
		urls[e.URL] = true
	}
	if !urls["https://shop.example/p"] || !urls["https://shop.example/u/-/-/-/panier"] {
		t.Errorf("clicked URLs = %v, want https://shop.example/p and https://shop.example/u/-/-/-/panier", urls)
	}
	if others, _ := r.ContactEvents(ctx(t), other.ID); len(others) != 1 || others[0].Detail != "kept" {
		t.Errorf("another contact's events changed: %+v", others)
	}
	ledger, err := r.ContactLedger(ctx(t), c.ID)
	if err != nil || len(ledger) != 1 || ledger[0].ID != rows[0].ID {
		t.Errorf("ContactLedger after erasure = %+v, %v; want the row kept", ledger, err)
	}
	recs, err := r.ListConsents(ctx(t), c.ID)
	if err != nil || len(recs) != 1 || recs[0].Source != "sms:STOP" {
		t.Errorf("consent records = %+v, %v; want the STOP kept as proof", recs, err)
	}

	again, err := r.EraseContact(ctx(t), c.ID, keysOf, at.Add(time.Hour))
	if err != nil || again {
		t.Errorf("second EraseContact = %v, %v; want false, nil", again, err)
	}
	if got2 := getContact(t, s, c.ID); !got2.ErasedAt.Equal(at) {
		t.Errorf("second erasure moved ErasedAt to %v", got2.ErasedAt)
	}
	_, err = r.EraseContact(ctx(t), 999999, keysOf, at)
	wantNotFound(t, "EraseContact(unknown)", err)

	// A re-import of the same address makes a new contact: the erased
	// row is never refilled.
	back := normalized(&contact.Contact{ExternalID: "E1", Email: "Elise.Garnier@example.org"})
	if ins, _ := upsert(t, s, back); ins != 1 || back.ID == c.ID {
		t.Errorf("re-import matched the erased row (inserted %d, id %d)", ins, back.ID)
	}
}

func testInactiveContacts(t *testing.T, s store.Store) {
	r := asRights(t, s)
	p := asPolicy(t, s)
	ev := eventStore(t, s)
	names := []string{"clicked", "opened only", "machine click", "recent opt-in", "recent opt-out", "erased", "old click", "converted"}
	cs := make([]*contact.Contact, len(names))
	for i := range names {
		cs[i] = normalized(&contact.Contact{ExternalID: "R" + string(rune('a'+i)), Email: string(rune('a'+i)) + "@example.org"})
	}
	upsert(t, s, cs...)
	// Every contact was created before since; events after it are recent.
	since := time.Now().UTC().Add(time.Hour)
	recent, old := since.Add(time.Minute), since.Add(-2*time.Hour)
	run := newRun(t, s, "camp", "k")
	var rows []store.LedgerRow
	for _, c := range cs {
		rows = append(rows, store.LedgerRow{ID: store.LedgerID(run.ID, "s", c.ID, "email"), RunID: run.ID, CampaignID: "camp",
			StepID: "s", ContactID: c.ID, Channel: "email", Purpose: "marketing", State: store.Accepted})
	}
	insertLedger(t, s, rows)
	if _, err := ev.RecordEvents(ctx(t), []store.Event{
		{LedgerID: rows[0].ID, ContactID: cs[0].ID, Type: store.EventClicked, At: recent},
		{LedgerID: rows[1].ID, ContactID: cs[1].ID, Type: store.EventOpened, At: recent},
		{LedgerID: rows[2].ID, ContactID: cs[2].ID, Type: store.EventClicked, Machine: true, At: recent},
		{LedgerID: rows[6].ID, ContactID: cs[6].ID, Type: store.EventClicked, At: old},
		{LedgerID: rows[7].ID, ContactID: cs[7].ID, Type: store.EventConverted, Value: 12.5, At: recent},
	}); err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}
	for i, granted := range map[int]contact.ConsentStatus{3: contact.Granted, 4: contact.Refused} {
		if err := p.SetConsent(ctx(t), cs[i].ID, "email", contact.PurposeMarketing, contact.ConsentState{Status: granted, Source: "api", At: recent}); err != nil {
			t.Fatalf("SetConsent: %v", err)
		}
	}
	if _, err := r.EraseContact(ctx(t), cs[5].ID, func(*contact.Contact) []string { return nil }, time.Now()); err != nil {
		t.Fatalf("EraseContact: %v", err)
	}
	want := map[string]bool{"opened only": true, "machine click": true, "recent opt-out": true, "old click": true}
	// A page size of 2 checks the keyset pagination.
	got := map[string]bool{}
	var after int64
	for {
		page, err := r.InactiveContacts(ctx(t), since, after, 2)
		if err != nil {
			t.Fatalf("InactiveContacts: %v", err)
		}
		for _, c := range page {
			for i := range cs {
				if cs[i].ID == c.ID {
					got[names[i]] = true
				}
			}
			after = c.ID
		}
		if len(page) < 2 {
			break
		}
	}
	diff(t, "inactive", got, want)
	none, err := r.InactiveContacts(ctx(t), time.Now().UTC().Add(-time.Hour), 0, 0)
	if err != nil || len(none) != 0 {
		t.Errorf("contacts created after since are never inactive: got %d, %v", len(none), err)
	}
}
