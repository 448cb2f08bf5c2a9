package worker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// BenchmarkHandleSend measures the whole send path of one ledger row
// (claim, policy, render, SMTP, acceptance) on SQLite and the test SMTP
// server, with senders in parallel as asynq's workers run them.
func BenchmarkHandleSend(b *testing.B) {
	f := setup(b, "hello")
	ctx := context.Background()
	yes := true
	cs := make([]*contact.Contact, b.N)
	for i := range cs {
		cs[i] = &contact.Contact{ExternalID: fmt.Sprint("B", i), FirstName: "Camille", Email: fmt.Sprintf("c%d@example.org", i), Consent: map[string]*bool{"email": &yes}}
		cs[i].Normalize()
	}
	for i := 0; i < len(cs); i += 1000 {
		if _, _, err := f.st.UpsertContacts(ctx, cs[i:min(i+1000, len(cs))]); err != nil {
			b.Fatal(err)
		}
	}
	rows := make([]store.LedgerRow, len(cs))
	for i, c := range cs {
		rows[i] = store.LedgerRow{ID: store.LedgerID(f.run.ID, "s1", c.ID, emailch.Name), RunID: f.run.ID, CampaignID: f.sp.ID,
			StepID: "s1", ContactID: c.ID, Channel: emailch.Name, Purpose: "marketing", State: store.Planned}
	}
	if _, err := f.st.InsertLedger(ctx, rows); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.SetParallelism(25)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if err := f.handle(rows[i].ID); err != nil {
				b.Error(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
