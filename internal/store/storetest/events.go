package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// EventBackend is a store.Store that also records events; both backends
// are one.
type EventBackend interface {
	store.Store
	store.EventStore
}

// RunEvents runs the store.EventStore conformance cases; each subtest gets
// its own empty store from open, which must return an EventBackend.
func RunEvents(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s EventBackend)
	}{
		{"FillFromLedger", testEventFill},
		{"Dedupe", testEventDedupe},
		{"ListFilters", testEventFilters},
		{"UnknownLedger", testEventUnknownLedger},
		{"LargeBatch", testEventLargeBatch},
		{"ConcurrentRecorders", testEventConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, asEvents(t, open(t)))
		})
	}
}

func asEvents(t testing.TB, s store.Store) EventBackend {
	t.Helper()
	e, ok := s.(EventBackend)
	if !ok {
		t.Fatalf("%T does not implement store.EventStore", s)
	}
	return e
}

func record(t testing.TB, s store.EventStore, evs ...store.Event) int {
	t.Helper()
	n, err := s.RecordEvents(t.Context(), evs)
	if err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}
	return n
}

func listEvents(t testing.TB, s store.EventStore, f store.EventFilter) []store.Event {
	t.Helper()
	evs, err := s.ListEvents(t.Context(), f)
	if err != nil {
		t.Fatalf("ListEvents(%+v): %v", f, err)
	}
	return evs
}

// seedLedger creates run "camp"/key with n email rows of step "s1" for
// contacts 1..n.
func seedLedger(t testing.TB, s store.Store, campaign, key string, n int) (store.Run, []store.LedgerRow) {
	t.Helper()
	r, _, err := s.CreateRun(t.Context(), store.Run{CampaignID: campaign, RunKey: key, ContentHash: "h"})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	rows := ledgerRows(r, "s1", "email", "marketing", n)
	if _, err := s.InsertLedger(t.Context(), rows); err != nil {
		t.Fatalf("InsertLedger: %v", err)
	}
	return r, rows
}

func testEventFill(t *testing.T, s EventBackend) {
	r, rows := seedLedger(t, s, "camp", "k", 2)
	at := time.Date(2027, 3, 20, 9, 15, 0, 123456000, time.FixedZone("CET", 3600))
	n := record(t, s,
		store.Event{LedgerID: rows[0].ID, Type: store.EventOpened, Machine: true, At: at},
		store.Event{LedgerID: rows[1].ID, Type: store.EventConverted, Value: 149.9, Currency: "EUR",
			Detail: "order 42", DedupeKey: "order-42", At: at},
		// Fields given by the caller win over the ledger's.
		store.Event{LedgerID: rows[1].ID, Type: store.EventClicked, URL: "https://example.org/a?b=1",
			StepID: "other", Channel: "sms", At: at},
	)
	if n != 3 {
		t.Fatalf("RecordEvents = %d new, want 3", n)
	}
	got := listEvents(t, s, store.EventFilter{CampaignID: "camp"})
	if len(got) != 3 {
		t.Fatalf("ListEvents returned %d events, want 3", len(got))
	}
	utc := at.UTC()
	want := []store.Event{
		{ID: got[0].ID, LedgerID: rows[0].ID, RunID: r.ID, CampaignID: "camp", StepID: "s1", ContactID: 1,
			Channel: "email", Type: store.EventOpened, Machine: true, At: utc},
		{ID: got[1].ID, LedgerID: rows[1].ID, RunID: r.ID, CampaignID: "camp", StepID: "s1", ContactID: 2,
			Channel: "email", Type: store.EventConverted, Value: 149.9, Currency: "EUR", Detail: "order 42",
			DedupeKey: "order-42", At: utc},
		{ID: got[2].ID, LedgerID: rows[1].ID, RunID: r.ID, CampaignID: "camp", StepID: "other", ContactID: 2,
			Channel: "sms", Type: store.EventClicked, URL: "https://example.org/a?b=1", At: utc},
	}
	for i := range want {
		diff(t, fmt.Sprintf("event %d", i), got[i], want[i])
	}
	if !(got[0].ID < got[1].ID && got[1].ID < got[2].ID) {
		t.Errorf("ids %d %d %d do not follow the input order", got[0].ID, got[1].ID, got[2].ID)
	}
	// A zero At is stamped with the store's clock.
	record(t, s, store.Event{LedgerID: rows[0].ID, Type: store.EventViewed})
	v := listEvents(t, s, store.EventFilter{Types: []string{store.EventViewed}})
	if len(v) != 1 || !recent(v[0].At) {
		t.Errorf("event without At = %+v, want one stamped now in UTC", v)
	}
}

func testEventDedupe(t *testing.T, s EventBackend) {
	_, rows := seedLedger(t, s, "camp", "k", 1)
	id := rows[0].ID
	tests := []struct {
		name string
		evs  []store.Event
		want int
	}{
		{"first delivery", []store.Event{{LedgerID: id, Type: store.EventDelivered, DedupeKey: "dlv-1"}}, 1},
		{"replayed webhook", []store.Event{{LedgerID: id, Type: store.EventDelivered, DedupeKey: "dlv-1"}}, 0},
		{"repeated within a batch", []store.Event{
			{LedgerID: id, Type: store.EventUnsubscribed, DedupeKey: "u-1"},
			{LedgerID: id, Type: store.EventUnsubscribed, DedupeKey: "u-1"},
		}, 1},
		{"no key: every open counts", []store.Event{
			{LedgerID: id, Type: store.EventOpened}, {LedgerID: id, Type: store.EventOpened},
		}, 2},
		{"new and old keys mixed", []store.Event{
			{LedgerID: id, Type: store.EventDelivered, DedupeKey: "dlv-1"},
			{LedgerID: id, Type: store.EventReplied, DedupeKey: "sms-in-1"},
		}, 1},
	}
	total := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := record(t, s, tc.evs...); n != tc.want {
				t.Errorf("RecordEvents = %d new, want %d", n, tc.want)
			}
		})
		total += tc.want
	}
	if got := listEvents(t, s, store.EventFilter{LedgerID: id}); len(got) != total {
		t.Errorf("stored %d events, want %d", len(got), total)
	}
}

func testEventFilters(t *testing.T, s EventBackend) {
	r1, rows1 := seedLedger(t, s, "camp-a", "k1", 3)
	r2, rows2 := seedLedger(t, s, "camp-b", "k1", 2)
	var evs []store.Event
	for _, l := range rows1 {
		evs = append(evs, store.Event{LedgerID: l.ID, Type: store.EventOpened}, store.Event{LedgerID: l.ID, Type: store.EventClicked})
	}
	for _, l := range rows2 {
		evs = append(evs, store.Event{LedgerID: l.ID, Type: store.EventOpened})
	}
	record(t, s, evs...) // 6 for camp-a, 2 for camp-b
	all := listEvents(t, s, store.EventFilter{})
	if len(all) != 8 {
		t.Fatalf("stored %d events, want 8", len(all))
	}
	tests := []struct {
		name string
		f    store.EventFilter
		want int
	}{
		{"all", store.EventFilter{}, 8},
		{"by ledger", store.EventFilter{LedgerID: rows1[0].ID}, 2},
		{"by run", store.EventFilter{RunID: r2.ID}, 2},
		{"by campaign", store.EventFilter{CampaignID: "camp-a"}, 6},
		{"by contact", store.EventFilter{ContactID: 1}, 3},
		{"by types", store.EventFilter{RunID: r1.ID, Types: []string{store.EventClicked}}, 3},
		{"several types", store.EventFilter{Types: []string{store.EventClicked, store.EventOpened}}, 8},
		{"type not present", store.EventFilter{Types: []string{store.EventConverted}}, 0},
		{"after id", store.EventFilter{AfterID: all[5].ID}, 2},
		{"limit", store.EventFilter{Limit: 3}, 3},
		{"combined", store.EventFilter{CampaignID: "camp-a", ContactID: 2, Types: []string{store.EventOpened}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := listEvents(t, s, tc.f)
			if len(got) != tc.want {
				t.Fatalf("%d events, want %d", len(got), tc.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].ID <= got[i-1].ID {
					t.Fatalf("not ordered by id: %d after %d", got[i].ID, got[i-1].ID)
				}
			}
		})
	}
}

func testEventUnknownLedger(t *testing.T, s EventBackend) {
	n := record(t, s,
		store.Event{LedgerID: "no-such-row", Type: store.EventConverted, CampaignID: "camp", Value: 10, Currency: "EUR"},
		store.Event{LedgerID: "no-such-row-either", Type: store.EventOpened},
	)
	if n != 2 {
		t.Fatalf("RecordEvents = %d, want 2", n)
	}
	got := listEvents(t, s, store.EventFilter{})
	if len(got) != 2 || got[0].CampaignID != "camp" || got[0].RunID != 0 || got[1].CampaignID != "" || got[1].ContactID != 0 {
		t.Errorf("events on unknown rows = %+v", got)
	}
}

func testEventLargeBatch(t *testing.T, s EventBackend) {
	_, rows := seedLedger(t, s, "camp", "k", 100)
	const n = 6100 // more than one chunk on both backends
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = store.Event{LedgerID: rows[i%len(rows)].ID, Type: store.EventOpened, Machine: i%7 == 0}
		if i%10 == 0 {
			evs[i].Type, evs[i].URL, evs[i].DedupeKey = store.EventClicked, "https://example.org/", fmt.Sprintf("c%d", i%1000)
		}
	}
	// Keys c0..c990 repeat once every 1,000 events: only the first of each counts.
	want := n - 610 + 100
	if got := record(t, s, evs...); got != want {
		t.Errorf("RecordEvents = %d new, want %d", got, want)
	}
	got := listEvents(t, s, store.EventFilter{CampaignID: "camp", Limit: 10000})
	if len(got) != want {
		t.Errorf("stored %d, want %d", len(got), want)
	}
	for _, e := range got {
		if e.ContactID == 0 || e.StepID != "s1" {
			t.Fatalf("event %d not filled from the ledger: %+v", e.ID, e)
		}
	}
}

func testEventConcurrent(t *testing.T, s EventBackend) {
	_, rows := seedLedger(t, s, "camp", "k", 10)
	const workers, batches, size = 4, 5, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				evs := make([]store.Event, size)
				for i := range evs {
					evs[i] = store.Event{LedgerID: rows[i%len(rows)].ID, Type: store.EventOpened,
						DedupeKey: fmt.Sprintf("k-%d", (w*batches*size+b*size+i)%(workers*batches*size/2))}
				}
				if _, err := s.RecordEvents(t.Context(), evs); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent RecordEvents: %v", err)
	}
	// Every key was written by two goroutines; exactly one copy stays.
	if got := listEvents(t, s, store.EventFilter{Limit: 10000}); len(got) != workers*batches*size/2 {
		t.Errorf("stored %d events, want %d", len(got), workers*batches*size/2)
	}
}

// BenchRecordEvents measures RecordEvents with batches of 500 open events
// (the tracking batcher's default) on 1,000 ledger rows; it reports
// events/s. The open pixel's target is ≥ 10,000 events/s persisted.
func BenchRecordEvents(b *testing.B, s store.Store) {
	b.Helper()
	es := asEvents(b, s)
	_, rows := seedLedger(b, s, "bench", "k", 1000)
	const batch = 500
	evs := make([]store.Event, batch)
	n := 0
	for i := 0; b.Loop(); i++ {
		for j := range evs {
			evs[j] = store.Event{LedgerID: rows[(i*batch+j)%len(rows)].ID, Type: store.EventOpened,
				Machine: j%5 == 0, At: time.Now()}
		}
		got, err := es.RecordEvents(b.Context(), evs)
		if err != nil {
			b.Fatal(err)
		}
		if got != batch {
			b.Fatalf("RecordEvents = %d, want %d", got, batch)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
