// Package worker is the send path of one ledger row: load it, claim it,
// check policy again, render, call the channel, and record the outcome.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// Campaigns finds the campaign version a run was planned with.
type Campaigns interface {
	// Campaign returns campaign id at content hash (the run's), or an
	// error when that version is not available in this process.
	Campaign(ctx context.Context, id, contentHash string) (*campaign.Spec, error)
}

// Decider is the policy check (policy.Engine).
type Decider interface {
	Decide(ctx context.Context, in policy.Input) (policy.Decision, error)
}

// Enqueuer puts tasks on the queue (asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// LinkMaker returns the tracking links and headers of one message (the
// tracking package implements it); nil makes none.
type LinkMaker interface {
	Links(row *store.LedgerRow, c *contact.Contact, sp *campaign.Spec) (Links, string, error)
}

// Observer counts outcomes for /metrics.
type Observer interface {
	ObserveSend(channel, outcome string, d time.Duration)
	ObserveRefusal(reason string)
}

// Decorator adds tracking to a rendered message.
type Decorator interface {
	Decorate(m *channel.Message, row *store.LedgerRow, trackOpens bool)
}

// Worker handles queue.TypeSend tasks. All fields but Links and Log are
// required.
type Worker struct {
	Store     store.Store
	Campaigns Campaigns
	Senders   channel.Registry
	Policy    Decider
	Queue     Enqueuer
	Composer  *Composer
	Links     LinkMaker
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
	Log         *slog.Logger
	Now         func() time.Time
	// TaskRetention is passed to re-enqueued (deferred) tasks.
	TaskRetention time.Duration

	runs sync.Map // run id → content hash (immutable once the run exists)
}

// runHash returns the content hash of a run's campaign version, read once
// per run and process.
func (w *Worker) runHash(ctx context.Context, runID int64) (string, error) {
	if h, ok := w.runs.Load(runID); ok {
		return h.(string), nil
	}
	r, err := w.Store.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	w.runs.Store(runID, r.ContentHash)
	return r.ContentHash, nil
}

// Register adds the worker's handlers to mux.
func (w *Worker) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(queue.TypeSend, w.HandleSend)
	mux.HandleFunc(queue.TypeAssemblePrint, w.HandleAssemble)
}

// permanent stops retries but keeps the cause (DESIGN convention 5).
func permanent(err error) error { return fmt.Errorf("%w: %w", err, asynq.SkipRetry) }

// HandleSend delivers one ledger row. It is idempotent: a row that is
// already final is left alone, and a row found mid-submission (the
// previous attempt died during the provider call) is held as ambiguous
// unless the campaign says on_ambiguous: resend (SPEC §9).
func (w *Worker) HandleSend(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseSend(t)
	if err != nil {
		return permanent(err)
	}
	row, err := w.Store.GetLedger(ctx, p.LedgerID)
	if errors.Is(err, store.ErrNotFound) {
		return permanent(fmt.Errorf("ledger %s: %w", p.LedgerID, err))
	}
	if err != nil {
		return fmt.Errorf("ledger %s: %w", p.LedgerID, err)
	}
	log := w.log().With("ledger", row.ID, "run", row.RunID, "campaign", row.CampaignID, "step", row.StepID, "channel", row.Channel)
	hash, err := w.runHash(ctx, row.RunID)
	if err != nil {
		return fmt.Errorf("ledger %s: run: %w", row.ID, err)
	}
	sp, err := w.Campaigns.Campaign(ctx, row.CampaignID, hash)
	if err != nil {
		return fmt.Errorf("ledger %s: %w", row.ID, err)
	}

	switch {
	case row.State.Terminal():
		return nil
	case row.State == store.Submitting:
		if sp.OnAmbiguous != "resend" || row.Attempts > 1 {
			_, err := w.Store.Transition(ctx, row.ID, []store.State{store.Submitting}, store.Ambiguous,
				store.Change{Reason: "in_flight_at_failure", Error: "the previous attempt stopped during the provider call; held for review"})
			if err == nil {
				log.Warn("send held as ambiguous: previous attempt died mid-submission")
			}
			return err
		}
		// on_ambiguous: resend — one more attempt, counted below.
	}
	ok, err := w.Store.Transition(ctx, row.ID, store.NonTerminal, store.Claimed, store.Change{AddAttempt: true})
	if err != nil {
		return err
	}
	if !ok {
		return nil // another worker finished it meanwhile
	}
	c, err := w.Store.GetContact(ctx, row.ContactID)
	if err != nil {
		return fmt.Errorf("ledger %s: contact: %w", row.ID, err)
	}

	// Second policy check, right before the provider call: an opt-out that
	// arrived since planning stops this send.
	dec, err := w.Policy.Decide(ctx, policy.Input{Contact: c, Channel: row.Channel, Purpose: row.Purpose, Stage: policy.Send,
		FrequencyCap: CapOf(sp), AddressInvalid: AddressInvalid(row.Channel, c)})
	if err != nil {
		return w.release(ctx, row.ID, fmt.Errorf("ledger %s: policy: %w", row.ID, err))
	}
	switch dec.Verdict {
	case policy.Deny:
		_, err := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Refused, store.Change{Reason: dec.Reason, Error: dec.Detail})
		log.Info("send refused", "reason", dec.Reason)
		if w.Metrics != nil {
			w.Metrics.ObserveRefusal(dec.Reason)
		}
		return err
	case policy.Defer:
		return w.deferTo(ctx, &row, dec.NotBefore)
	}

	step := sp.Step(row.StepID)
	if step == nil {
		_, err := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Failed, store.Change{Reason: "step_removed"})
		return err
	}
	var links Links
	var response string
	if w.Links != nil {
		if links, response, err = w.Links.Links(&row, c, sp); err != nil {
			return w.release(ctx, row.ID, err)
		}
	}
	// The data of an API-triggered (transactional) send, .Data in
	// templates; marketing sends have none, so they skip the read.
	var data map[string]any
	if row.Purpose == campaign.Transactional {
		if data, err = w.Store.LedgerPayload(ctx, row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return w.release(ctx, row.ID, err)
		}
	}
	msg, err := w.Composer.Compose(Input{Spec: sp, Step: step, Channel: row.Channel, LedgerID: row.ID, Contact: c,
		Data: data, Links: links, Response: response, Now: w.now()})
	if err != nil {
		_, terr := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Failed, store.Change{Reason: "render_error", Error: err.Error()})
		log.Error("render failed", "err", err)
		return errors.Join(permanent(err), terr)
	}
	msg.RunID = strconv.FormatInt(row.RunID, 10)
	if w.Decorator != nil && row.Channel == channel.Email {
		track := false
		if w.TrackOpens != nil {
			if track, err = w.TrackOpens(ctx, c); err != nil {
				return w.release(ctx, row.ID, err)
			}
		}
		w.Decorator.Decorate(msg, &row, track)
	}
	if msg.ResponseCode != "" && w.Responses != nil {
		if err := w.Responses.SaveResponseCode(ctx, msg.ResponseCode, row.ID); err != nil {
			return w.release(ctx, row.ID, err)
		}
	}
	sender, ok := w.Senders[row.Channel]
	if !ok {
		return w.release(ctx, row.ID, fmt.Errorf("no sender for channel %q in this worker", row.Channel))
	}

	if ok, err := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Submitting, store.Change{}); err != nil || !ok {
		return err
	}
	start := w.now()
	rcpt, err := sender.Send(ctx, msg)
	if w.Metrics != nil {
		w.Metrics.ObserveSend(row.Channel, outcome(err), w.now().Sub(start))
	}
	if err != nil {
		if channel.IsPermanent(err) {
			_, terr := w.Store.Transition(ctx, row.ID, []store.State{store.Submitting}, store.Failed,
				store.Change{Reason: ReasonOf(err), Error: err.Error()})
			log.Warn("send failed permanently", "reason", ReasonOf(err), "err", err)
			if w.OnPermanent != nil {
				terr = errors.Join(terr, w.OnPermanent(ctx, &row, c, ReasonOf(err)))
			}
			return errors.Join(permanent(err), terr)
		}
		// The provider refused for now (4xx, 429, 5xx, network): the
		// message was not accepted, so the row goes back to claimed and
		// asynq retries it with backoff.
		_, terr := w.Store.Transition(ctx, row.ID, []store.State{store.Submitting}, store.Claimed, store.Change{Error: err.Error()})
		log.Info("send failed, will retry", "err", err)
		return errors.Join(err, terr)
	}
	if _, err := w.Store.Transition(ctx, row.ID, []store.State{store.Submitting}, store.Accepted,
		store.Change{ProviderID: rcpt.ProviderID, Segments: rcpt.Segments}); err != nil {
		// Sent but not recorded: do not retry (that would resend); the
		// row stays submitting and a later look holds it as ambiguous.
		return permanent(fmt.Errorf("ledger %s: record acceptance: %w", row.ID, err))
	}
	log.Debug("sent", "provider_latency", w.now().Sub(start))
	return nil
}

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
	switch {
	case err == nil:
		return "accepted"
	case channel.IsPermanent(err):
		return "failed"
	}
	return "retry"
}

// ReasonOf returns the stable reason code a channel error carries, or
// "provider_rejected".
func ReasonOf(err error) string { return channel.ReasonOf(err, "provider_rejected") }

// CapOf returns the campaign's frequency cap for the policy (nil: the
// rules' default).
func CapOf(sp *campaign.Spec) *policy.Cap {
	if sp.Limits.FrequencyCap == nil {
		return nil
	}
	return &policy.Cap{N: sp.Limits.FrequencyCap.N, Per: sp.Limits.FrequencyCap.Per}
}

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
