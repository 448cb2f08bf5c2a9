package storetest

import (
	"fmt"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// BenchUpsertContacts measures UpsertContacts with batches of 1,000 new
// contacts (the expansion hot path); it reports contacts/s.
func BenchUpsertContacts(b *testing.B, s store.Store) {
	b.Helper()
	const batch = 1000
	n := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		cs := make([]*contact.Contact, batch)
		for j := range cs {
			cs[j] = person(fmt.Sprintf("b-%d-%d", i, j), fmt.Sprintf("b%d.%d@example.org", i, j), fmt.Sprintf("+336%08d", i*batch+j))
			cs[j].FirstName, cs[j].LastName = "Jeanne", "Martin"
			cs[j].Address = contact.Address{Line1: "3 rue du Port", Postcode: "44000", City: "NANTES", Country: "FR"}
			cs[j].Attrs = map[string]any{"revenue": 120.5, "segment": "A"}
			cs[j].Consent = map[string]*bool{"email": ptr(true)}
		}
		b.StartTimer()
		if _, _, err := s.UpsertContacts(b.Context(), cs); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "contacts/s")
}

// BenchInsertLedger measures InsertLedger with batches of 1,000 new rows;
// it reports rows/s.
func BenchInsertLedger(b *testing.B, s store.Store) {
	b.Helper()
	r, _, err := s.CreateRun(b.Context(), store.Run{CampaignID: "bench", RunKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	n := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		rows := make([]store.LedgerRow, batch)
		for j := range rows {
			cid := int64(i*batch + j + 1)
			rows[j] = store.LedgerRow{ID: store.LedgerID(r.ID, "s", cid, "email"), RunID: r.ID, CampaignID: "bench",
				StepID: "s", ContactID: cid, Channel: "email", Purpose: "marketing", State: store.Planned}
		}
		b.StartTimer()
		got, err := s.InsertLedger(b.Context(), rows)
		if err != nil {
			b.Fatal(err)
		}
		if got != batch {
			b.Fatalf("InsertLedger = %d new rows, want %d", got, batch)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
