package events_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/events"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/tracking"
)

func openStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSinkThroughBatcher(t *testing.T) {
	s := openStore(t)
	r, _, err := s.CreateRun(t.Context(), store.Run{CampaignID: "camp", RunKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	id := store.LedgerID(r.ID, "s1", 7, "email")
	if _, err := s.InsertLedger(t.Context(), []store.LedgerRow{{ID: id, RunID: r.ID, CampaignID: "camp",
		StepID: "s1", ContactID: 7, Channel: "email", State: store.Accepted}}); err != nil {
		t.Fatal(err)
	}
	sink := events.NewSink(s)
	var (
		mu       sync.Mutex
		observed = map[string]int{}
	)
	sink.Observe = func(typ string, n int) { mu.Lock(); observed[typ] += n; mu.Unlock() }
	b := tracking.NewBatcher(sink, 3, time.Hour)
	at := time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)
	for _, e := range []tracking.Event{
		{LedgerID: id, Type: tracking.EventOpened, At: at},
		{LedgerID: id, Type: tracking.EventOpened, Machine: true, At: at},
		{LedgerID: id, Type: tracking.EventClicked, URL: "https://example.org/a", At: at},
		{LedgerID: id, Type: tracking.EventClicked, URL: "https://example.org/a", At: at},
		{LedgerID: id, Type: tracking.EventUnsubscribed, At: at},
		{LedgerID: id, Type: tracking.EventUnsubscribed, At: at.Add(time.Minute)},
		{LedgerID: id, Type: tracking.EventResponded, At: at},
	} {
		if !b.Add(e) {
			t.Fatalf("event dropped: %+v", e)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListEvents(t.Context(), store.EventFilter{LedgerID: id})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range got {
		counts[e.Type]++
		if e.RunID != r.ID || e.CampaignID != "camp" || e.StepID != "s1" || e.ContactID != 7 || e.Channel != "email" {
			t.Errorf("event %d not filled from the ledger: %+v", e.ID, e)
		}
	}
	tests := []struct {
		name     string
		typ      string
		stored   int
		observed int
	}{
		{"every open kept", store.EventOpened, 2, 2},
		{"every click kept", store.EventClicked, 2, 2},
		{"one unsubscribe per message", store.EventUnsubscribed, 1, 2},
		{"response", store.EventResponded, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if counts[tc.typ] != tc.stored {
				t.Errorf("stored %d %s events, want %d", counts[tc.typ], tc.typ, tc.stored)
			}
			mu.Lock()
			defer mu.Unlock()
			if observed[tc.typ] != tc.observed {
				t.Errorf("observed %d %s events, want %d", observed[tc.typ], tc.typ, tc.observed)
			}
		})
	}
	if b.Recorded() != 7 || b.Failed() != 0 {
		t.Errorf("batcher recorded %d failed %d", b.Recorded(), b.Failed())
	}
}
