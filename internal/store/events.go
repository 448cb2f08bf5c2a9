package store

import (
	"context"
	"time"
)

// Event types recorded on ledger rows. They are stable: reports
// and the API expose them.
const (
	EventSent         = "sent"
	EventDelivered    = "delivered"
	EventBounced      = "bounced"
	EventFailed       = "failed"
	EventOpened       = "opened"
	EventClicked      = "clicked"
	EventViewed       = "viewed"
	EventUnsubscribed = "unsubscribed"
	EventReplied      = "replied"
	EventResponded    = "responded"
	EventConverted    = "converted"
)

// Event is something that happened to one ledger row (one message). The
// row's run, campaign, step, contact and channel are copied in so reports
// and follow-up conditions need no join.
type Event struct {
	ID         int64
	LedgerID   string
	RunID      int64
	CampaignID string
	StepID     string
	ContactID  int64
	Channel    string
	Type       string
	Machine    bool    // an open or click by a machine (privacy proxy, scanner)
	URL        string  // clicked link
	Value      float64 // conversion value
	Currency   string
	// Detail may hold personal data (the text of an SMS reply): it is
	// cleared when the contact is forgotten.
	Detail string
	// DedupeKey makes recording idempotent: a second event with the same
	// non-empty key is ignored (a replayed webhook, a double click).
	DedupeKey string
	At        time.Time
}

// EventFilter selects events; zero fields select all.
type EventFilter struct {
	LedgerID   string
	RunID      int64
	CampaignID string
	ContactID  int64
	Types      []string
	AfterID    int64 // keyset pagination
	Limit      int   // default 1000
}

// EventStore records and reads events. Both backends implement it.
type EventStore interface {
	// RecordEvents inserts events in one transaction, ignoring those whose
	// DedupeKey exists; it returns how many were new. Missing run,
	// campaign, step, contact and channel are filled from the ledger row.
	RecordEvents(ctx context.Context, evs []Event) (int, error)
	// ListEvents returns events matching f ordered by ID.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
}
