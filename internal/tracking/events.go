package tracking

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Event types recorded on a delivery.
const (
	EventOpened       = "opened"
	EventClicked      = "clicked"
	EventUnsubscribed = "unsubscribed"
	EventResponded    = "responded"
	EventViewed       = "viewed"
)

// Event is one tracked interaction with a delivery. It carries the ledger
// id, never who the recipient is.
type Event struct {
	LedgerID string
	Type     string // one of the Event* constants
	// Machine marks an interaction made by a proxy, scanner or prefetcher
	// rather than a person; reports count it apart.
	Machine bool
	URL     string // clicked destination (clicked only)
	At      time.Time
}

// EventSink persists events (internal/events adapts the store to it). It
// receives batches so that one transaction records many events.
type EventSink interface {
	Record(ctx context.Context, evs []Event) error
}

// Unsubscriber records an opt-out for the contact, campaign and channel of
// claims (consent withdrawn, suppression entry). It must be idempotent: a
// person may click twice and a mail client may post the one-click request
// again. source is "page" (the confirmation form) or "one-click" (RFC 8058).
type Unsubscriber interface {
	Unsubscribe(ctx context.Context, c Claims, source string) error
}

// Viewer re-renders a sent message for the view-in-browser link. It
// returns an error wrapping store.ErrNotFound (or any error) when the
// message cannot be shown; the handler then shows a friendly page.
type Viewer interface {
	View(ctx context.Context, ledgerID string) (html string, err error)
}

// ResponseSink records a response made through a personal URL: it looks
// up the ledger row a response code was issued for and records
// "responded" on it (the follow-up logic stops further steps). It returns
// the ledger id, or an error (unknown code: one wrapping store.ErrNotFound).
type ResponseSink interface {
	Respond(ctx context.Context, code string, at time.Time) (ledgerID string, err error)
}

// Batcher defaults.
const (
	DefaultBatchSize     = 1000
	DefaultBatchInterval = 200 * time.Millisecond
	// DefaultAddWait is how long Add waits for room when the buffer is
	// full before dropping the event.
	DefaultAddWait = 100 * time.Millisecond
)

// Batcher buffers events from the HTTP handlers and hands them to an
// EventSink in batches, so the open pixel (≥ 10,000 req/s) costs
// one database write per batch, not per request.
//
// Drop versus block: when the buffer is full (the sink is down or slower
// than the traffic), Add blocks for at most AddWait, then drops the event
// and counts it (Dropped, and the relais_tracking_events_dropped_total
// metric). Blocking forever would turn a database outage into pixel
// timeouts in the recipients' mail clients; dropping at once would lose
// events on short bursts the flusher absorbs within milliseconds.
type Batcher struct {
	sink     EventSink
	size     int
	interval time.Duration
	// AddWait is the longest Add blocks on a full buffer (default
	// DefaultAddWait). Set it before the first Add.
	AddWait time.Duration
	// Log receives flush failures (no PII: ledger ids and counts only).
	// Default slog.Default().
	Log *slog.Logger

	ch        chan Event
	flushReq  chan chan struct{}
	closeReq  chan chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool

	recorded, dropped, failed atomic.Uint64
}

// NewBatcher returns a Batcher flushing to sink every size events
// (default 500 when ≤ 0) or every interval (default 200 ms when ≤ 0),
// whichever comes first. It starts one flushing goroutine; Close stops it
// after a final flush. The buffer holds 16 batches.
func NewBatcher(sink EventSink, size int, interval time.Duration) *Batcher {
	if size <= 0 {
		size = DefaultBatchSize
	}
	if interval <= 0 {
		interval = DefaultBatchInterval
	}
	b := &Batcher{
		sink: sink, size: size, interval: interval, AddWait: DefaultAddWait,
		ch: make(chan Event, 16*size), flushReq: make(chan chan struct{}), closeReq: make(chan chan struct{}), done: make(chan struct{}),
	}
	go b.loop()
	return b
}

// Add queues e for the next batch. It never blocks longer than AddWait;
// it reports false when the event was dropped (full buffer or closed).
func (b *Batcher) Add(e Event) bool {
	if b.closed.Load() {
		b.dropped.Add(1)
		return false
	}
	select {
	case b.ch <- e:
		return true
	default:
	}
	t := time.NewTimer(b.AddWait)
	defer t.Stop()
	select {
	case b.ch <- e:
		return true
	case <-t.C:
	case <-b.done:
	}
	b.dropped.Add(1)
	return false
}

// Flush writes everything queued so far and returns when it is written
// (or failed and was counted). It is a no-op after Close.
func (b *Batcher) Flush() {
	ack := make(chan struct{})
	select {
	case b.flushReq <- ack:
		<-ack
	case <-b.done:
	}
}

// Close stops intake, flushes what is buffered and waits for the flusher.
// Events added concurrently with Close may be lost.
// It is safe to call more than once.
func (b *Batcher) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		ack := make(chan struct{})
		b.closeReq <- ack
		<-ack
		close(b.done)
	})
	return nil
}

// Recorded, Dropped and Failed count events written, dropped on a full
// buffer, and lost because the sink failed after retries.
func (b *Batcher) Recorded() uint64 { return b.recorded.Load() }

// Dropped counts events dropped by Add (full buffer or closed).
func (b *Batcher) Dropped() uint64 { return b.dropped.Load() }

// Failed counts events lost because the sink kept failing.
func (b *Batcher) Failed() uint64 { return b.failed.Load() }

// Collectors returns the batcher's Prometheus counters for the caller to
// register (nothing is registered globally).
func (b *Batcher) Collectors() []prometheus.Collector {
	f := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "relais", Subsystem: "tracking", Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		f("events_recorded_total", "Tracking events written to the store.", &b.recorded),
		f("events_dropped_total", "Tracking events dropped because the buffer stayed full.", &b.dropped),
		f("events_failed_total", "Tracking events lost because the store kept failing.", &b.failed),
	}
}

func (b *Batcher) loop() {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	batch := make([]Event, 0, b.size)
	for {
		select {
		case e := <-b.ch:
			batch = append(batch, e)
			if len(batch) >= b.size {
				batch = b.write(batch)
			}
		case <-t.C:
			if len(batch) > 0 {
				batch = b.write(batch)
			}
		case ack := <-b.flushReq:
			batch = b.drain(batch)
			close(ack)
		case ack := <-b.closeReq:
			b.drain(batch)
			close(ack)
			return
		}
	}
}

// drain writes the pending batch and everything in the channel.
func (b *Batcher) drain(batch []Event) []Event {
	for {
		select {
		case e := <-b.ch:
			batch = append(batch, e)
			if len(batch) >= b.size {
				batch = b.write(batch)
			}
		default:
			if len(batch) > 0 {
				batch = b.write(batch)
			}
			return batch
		}
	}
}

// write hands batch to the sink, retrying twice with a short backoff, and
// returns batch emptied for reuse. The sink must not keep the slice.
func (b *Batcher) write(batch []Event) []Event {
	var err error
	for attempt, wait := 0, 100*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*4 {
		if attempt > 0 {
			time.Sleep(wait)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = b.sink.Record(ctx, batch)
		cancel()
		if err == nil {
			b.recorded.Add(uint64(len(batch)))
			clear(batch)
			return batch[:0]
		}
	}
	b.failed.Add(uint64(len(batch)))
	log := b.Log
	if log == nil {
		log = slog.Default()
	}
	log.Error("tracking events lost: the event sink kept failing", "events", len(batch), "err", err)
	clear(batch)
	return batch[:0]
}
