package storetest

import (
	"fmt"
	"sync/atomic"
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

// BenchTransition measures the worker's conditional updates from parallel
// goroutines: each op claims one planned row (planned → claimed); it
// reports transitions/s.
func BenchTransition(b *testing.B, s store.Store) {
	b.Helper()
	r, _, err := s.CreateRun(b.Context(), store.Run{CampaignID: "bench", RunKey: "t"})
	if err != nil {
		b.Fatal(err)
	}
	const rowsN = 200000
	ids := make([]string, 0, rowsN)
	for start := 0; start < rowsN; start += 1000 {
		rows := make([]store.LedgerRow, 1000)
		for j := range rows {
			cid := int64(start + j + 1)
			rows[j] = store.LedgerRow{ID: store.LedgerID(r.ID, "s", cid, "email"), RunID: r.ID, CampaignID: "bench",
				StepID: "s", ContactID: cid, Channel: "email", Purpose: "marketing", State: store.Planned}
			ids = append(ids, rows[j].ID)
		}
		if _, err := s.InsertLedger(b.Context(), rows); err != nil {
			b.Fatal(err)
		}
	}
	var next atomicCounter
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.add() % rowsN
			if _, err := s.Transition(b.Context(), ids[i], []store.State{store.Planned}, store.Claimed, store.Change{AddAttempt: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
}

// atomicCounter hands out row indexes to parallel benchmark goroutines.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int { return int(c.n.Add(1) - 1) }
