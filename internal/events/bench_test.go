package events_test

import (
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/events"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

// BenchmarkBatcherToSQLite measures opens going through the tracking
// batcher (defaults: 500 events or 200 ms) into SQLite through Sink; it
// reports events persisted per second (the goal is ≥ 10,000 for the
// pixel). Add is called from parallel goroutines, as the HTTP handlers do.
func BenchmarkBatcherToSQLite(b *testing.B) {
	s := openStore(b)
	r, _, err := s.CreateRun(b.Context(), store.Run{CampaignID: "bench", RunKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]store.LedgerRow, 1000)
	for i := range rows {
		rows[i] = store.LedgerRow{RunID: r.ID, CampaignID: "bench", StepID: "s", ContactID: int64(i + 1), Channel: "email", State: store.Accepted}
		rows[i].ID = store.LedgerID(r.ID, "s", int64(i+1), "email")
	}
	if _, err := s.InsertLedger(b.Context(), rows); err != nil {
		b.Fatal(err)
	}
	bat := tracking.NewBatcher(events.NewSink(s), 0, 0)
	bat.AddWait = time.Second // measure persistence, not drops
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			bat.Add(tracking.Event{LedgerID: rows[i%len(rows)].ID, Type: tracking.EventOpened, At: time.Now()})
			i++
		}
	})
	bat.Close()
	b.StopTimer()
	if bat.Dropped() > 0 || bat.Failed() > 0 {
		b.Fatalf("dropped %d, failed %d", bat.Dropped(), bat.Failed())
	}
	b.ReportMetric(float64(bat.Recorded())/b.Elapsed().Seconds(), "events/s")
}
