package store

import (
	"context"
	"time"
)

// EventResponse is the pseudo event type under which ReportStore counts
// responses: replied, responded and converted events together (a
// reply, a personal-URL visit, a response code or a conversion), so that a
// message answered in two ways counts as one response.
const EventResponse = "response"

// EventConvertedMessage is the pseudo event type under which ReportStore
// counts the messages with at least one conversion, whatever its
// currency (the converted groups are split by currency).
const EventConvertedMessage = "converted_message"

// ResponseTypes are the event types EventResponse covers.
var ResponseTypes = []string{EventReplied, EventResponded, EventConverted}

// LedgerGroup counts the ledger rows of one campaign sharing a run, step,
// channel, state and reason (reason is empty except for refused and
// failed rows).
type LedgerGroup struct {
	RunID   int64
	StepID  string
	Channel string
	State   State
	Reason  string
	Rows    int
	// Segments sums the rows' SMS segments, counting at least one per
	// row (an SMS whose count was not recorded bills one); it is only
	// meaningful for SMS.
	Segments int
}

// EventGroup counts the events of one campaign sharing a run, step,
// channel, type, machine flag and currency. Besides the stored types there
// is one EventResponse group (human events only) and one
// EventConvertedMessage group per run, step and channel that has such
// events, both with Currency empty and Value 0.
type EventGroup struct {
	RunID    int64
	StepID   string
	Channel  string
	Type     string
	Machine  bool
	Currency string
	Events   int     // every event
	Messages int     // distinct ledger rows with at least one such event
	Value    float64 // sum of conversion values
}

// HourCount is one point of a campaign's timeline: N occurrences of
// Series in the hour starting at Hour (UTC).
type HourCount struct {
	Hour   time.Time
	Series string // TimelineSent, or opened, clicked, EventResponse, unsubscribed (human events)
	N      int
}

// TimelineSent is the HourCount series of messages sent, dated by the
// ledger row's last update (acceptance, or a later delivery report).
const TimelineSent = "sent"

// ReportStore aggregates a campaign's ledger and events in the database
// (GROUP BY), so a report never loads every row. Both backends implement
// it.
type ReportStore interface {
	// LedgerGroups returns the campaign's ledger counts, ordered by run,
	// step, channel, state and reason.
	LedgerGroups(ctx context.Context, campaignID string) ([]LedgerGroup, error)
	// EventGroups returns the campaign's event counts, ordered by run,
	// step, channel, type, machine and currency.
	EventGroups(ctx context.Context, campaignID string) ([]EventGroup, error)
	// Timeline returns, per hour since since (zero: all), the messages
	// sent and the human opens, clicks, responses and unsubscribes,
	// ordered by hour and series.
	Timeline(ctx context.Context, campaignID string, since time.Time) ([]HourCount, error)
}
