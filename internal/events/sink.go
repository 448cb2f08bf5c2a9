// Package events connects the tracking endpoints to the store: Sink is the
// tracking.EventSink that persists the batcher's events as store events on
// their ledger rows.
package events

import (
	"context"
	"fmt"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

// Sink persists tracking events through a store.EventStore. It is safe
// for concurrent use when the store is.
type Sink struct {
	store store.EventStore
	// Observe, when set, is called after each successful write with the
	// number of events per type written (duplicates included).
	Observe func(eventType string, n int)
}

var _ tracking.EventSink = (*Sink)(nil)

// NewSink returns a Sink writing to st.
func NewSink(st store.EventStore) *Sink { return &Sink{store: st} }

// Record implements tracking.EventSink in one RecordEvents call. Opens,
// clicks, views and personal-URL responses are all kept (reports count
// messages, so repeats only add to the event counts); an unsubscribe is
// recorded once per message, whatever how often the link is posted.
// Errors from the store are wrapped; the batcher retries them.
func (s *Sink) Record(ctx context.Context, evs []tracking.Event) error {
	if len(evs) == 0 {
		return nil
	}
	out := make([]store.Event, len(evs))
	for i, e := range evs {
		out[i] = ToStore(e)
	}
	if _, err := s.store.RecordEvents(ctx, out); err != nil {
		return fmt.Errorf("events: record %d tracking events: %w", len(evs), err)
	}
	if s.Observe != nil {
		counts := map[string]int{}
		for _, e := range evs {
			counts[e.Type]++
		}
		for t, n := range counts {
			s.Observe(t, n)
		}
	}
	return nil
}

// ToStore maps a tracking event to the store event recorded for it; the
// run, campaign, step, contact and channel are left for the store to fill
// from the ledger row.
func ToStore(e tracking.Event) store.Event {
	se := store.Event{LedgerID: e.LedgerID, Type: e.Type, Machine: e.Machine, URL: e.URL, At: e.At}
	if e.Type == tracking.EventUnsubscribed {
		se.DedupeKey = DedupeKey(e.Type, e.LedgerID)
	}
	return se
}

// DedupeKey is the key recording an event of type t on a ledger row at
// most once (unsubscribed; a provider's delivered or bounced status).
func DedupeKey(t, ledgerID string) string { return t + ":" + ledgerID }
