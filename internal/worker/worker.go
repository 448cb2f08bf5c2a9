// Package worker is the send path of ledger rows, one at a time or in
// batches: load, claim, check policy again, render, call the channel, and
// record the outcome.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// Observer counts outcomes for /metrics.
type Observer interface {
	ObserveSend(channel, outcome string, d time.Duration)
	ObserveRefusal(reason string)
}

// Decorator adds tracking to a rendered message.
type Decorator interface {
	Decorate(m *channel.Message, row *store.LedgerRow, trackOpens bool)
}

// Worker handles queue.TypeSend and queue.TypeSendBatch tasks. All fields but Links and Log are
// required.
type Worker struct {
	Store     store.Store
	Campaigns compose.Campaigns
	// Channels are the channels this worker sends on, with their
	// senders attached.
	Channels *channel.Registry
	Policy   policy.Decider
	Queue    queue.Enqueuer
	Composer *compose.Composer
	// Links makes the tracking links of a message; nil makes none.
	Links compose.LinkMaker
	// Assembler builds print batches (nil: no print channel here).
	Assembler Assembler
	// Decorator rewrites an email's links for click tracking and adds the
	// open pixel (tracking.Links); nil leaves messages as rendered.
	Decorator Decorator
	// TrackOpens says whether the open pixel may be added for a contact
	// (policy.Engine.TrackOpens: always, with consent, never).
	TrackOpens func(ctx context.Context, c *contact.Contact) (bool, error)
	// Responses keeps reply-coupon codes (nil: codes are not kept).
	Responses store.ResponseStore
	// Metrics counts sends and refusals (metrics.Metrics); nil: none.
	Metrics Observer
	// OnPermanent is told of each permanent provider failure with its
	// reason code (hard_bounce, landline, opted_out…) so the address can
	// be suppressed (feedback.Feedback.SuppressOnFailure); nil: nothing.
	OnPermanent func(ctx context.Context, row *store.LedgerRow, c *contact.Contact, reason string) error
	// Limiter enforces the campaigns' rate limits across processes
	// (queue.Limiter); nil: no limit is enforced.
	Limiter RateLimiter
	// ChannelRates are the configuration's per-channel limits, shared by
	// every campaign on top of their own (relais.yaml limits:).
	ChannelRates map[string]campaign.Rate
	Log          *slog.Logger
	Now          func() time.Time
	// TaskRetention is passed to re-enqueued (deferred) tasks.
	TaskRetention time.Duration

	// RecordPatience is how long an outcome is retried against an
	// unreachable store before it goes to a record task (default
	// DefaultRecordPatience).
	RecordPatience time.Duration
	// InFlightGrace is how long a row found submitting is presumed to be
	// in the hands of a live worker (retried later) rather than left by a
	// dead one (held as ambiguous); 0 judges at once. It should exceed the
	// providers' timeouts; RecordPatience is added to it, the time a live
	// worker may still hold the outcome while the store is unreachable.
	InFlightGrace time.Duration
	// Recording, when set, reports whether the outcome of a row's attempt
	// waits in a record task (the store was down when it came back): such
	// a row found submitting is not judged ambiguous, the record task
	// settles it.
	Recording func(ctx context.Context, ledgerID string, attempt int) (bool, error)

	// SendParallelism is how many messages of batches (HandleBatch) the
	// process has in flight at once (default DefaultSendParallelism).
	SendParallelism int

	runs      sync.Map // run id → runVersion (immutable once the run exists)
	controls  sync.Map // run id → control, re-read after ControlTTL
	slotsOnce sync.Once
	slots     chan struct{} // SendParallelism
	ahead     chan struct{} // batchesAhead: batches claimed, not yet dispatched
	dispatch  sync.Mutex    // held by the batch taking slots (dispatchSends)
	// ledgerWrites groups batched sends' submitting marks and
	// acceptances.
	ledgerWrites grouped

	chanMu      sync.Mutex
	chanControl channelControl // paused channels, re-read after ControlTTL
}

// runVersion is what a worker keeps of a run: its campaign and the
// content hash of the version it was planned with.
type runVersion struct{ campaign, hash string }

// runVersion returns run runID's campaign version, read once per run and
// process (it never changes once the run exists).
func (w *Worker) runVersion(ctx context.Context, runID int64) (runVersion, error) {
	if v, ok := w.runs.Load(runID); ok {
		return v.(runVersion), nil
	}
	r, err := w.Store.GetRun(ctx, runID)
	if err != nil {
		return runVersion{}, err
	}
	v := runVersion{campaign: r.CampaignID, hash: r.ContentHash}
	w.runs.Store(runID, v)
	return v, nil
}

// Register adds the worker's handlers to mux.
func (w *Worker) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(queue.TypeSend, w.HandleSend)
	mux.HandleFunc(queue.TypeSendBatch, w.HandleBatch)
	mux.HandleFunc(queue.TypeAssemblePrint, w.HandleAssemble)
	mux.HandleFunc(queue.TypeRecord, w.HandleRecord)
}

// permanent stops retries but keeps the cause, so logs and the ledger
// still say why.
func permanent(err error) error { return fmt.Errorf("%w: %w", err, asynq.SkipRetry) }

// release puts a claimed row back so a retry can claim it, and returns err.
func (w *Worker) release(ctx context.Context, id string, err error) error {
	_, terr := w.Store.Transition(ctx, id, []store.State{store.Claimed}, store.Planned, store.Change{Error: err.Error()})
	return errors.Join(err, terr)
}

// deferTo records a deferral (quiet hours) and queues a new task for then;
// the current task then ends successfully.
func (w *Worker) deferTo(ctx context.Context, row *store.LedgerRow, at time.Time) error {
	if _, err := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Deferred, store.Change{Reason: policy.ReasonQuietHours, NotBefore: at}); err != nil {
		return err
	}
	_, err := w.Queue.EnqueueContext(ctx, queue.NewSendTask(row.ID, row.RunID, row.Purpose, at, w.TaskRetention))
	if err != nil && !queue.IsDuplicate(err) {
		return fmt.Errorf("ledger %s: enqueue deferred send: %w", row.ID, err)
	}
	return nil
}

// outcome names a send's result for metrics.
func outcome(err error) string {
	if _, ok := channel.AccountSetting(err); ok {
		return "paused"
	}
	switch {
	case err == nil:
		return "accepted"
	case channel.IsAmbiguous(err):
		return "ambiguous"
	case channel.IsPermanent(err):
		return "failed"
	}
	return "retry"
}

// ReasonOf returns the stable reason code a channel error carries, or
// "provider_rejected".
func ReasonOf(err error) string { return channel.ReasonOf(err, "provider_rejected") }

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}
