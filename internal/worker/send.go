package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

// send is one delivery attempt of a ledger row as it moves through the
// steps of HandleSend; each step fills what the next one needs.
type send struct {
	row   store.LedgerRow
	sp    *campaign.Spec // the campaign version the row's run was planned with
	c     *contact.Contact
	msg   *channel.Message
	start time.Time // when the provider call began
	log   *slog.Logger
	// pol and track, when set, answer the policy check and the open
	// tracking consent from what a batch read at once (policy.Prefetch).
	pol   policy.Decider
	track func(ctx context.Context, c *contact.Contact) (bool, error)
	// payload, when set, is the row's transactional data as a batch read
	// it (nil: none); unset, the row's own read.
	payload    map[string]any
	hasPayload bool
	// batched sends record their acceptance with others (accept).
	batched bool
}

// HandleSend delivers one ledger row. It is idempotent: a row that is
// already final is left alone, and a row found mid-submission (the
// previous attempt died during the provider call) is held as ambiguous
// unless the campaign says on_ambiguous: resend.
//
// The steps follow the ledger's states: load, claim (planned/deferred →
// claimed), decide (→ refused or deferred), compose (→ failed on a render
// error), submit (claimed → submitting, the provider call) and record
// (→ accepted, failed, or back to claimed for a retry). A step that ends
// the attempt returns false with the task's result.
func (w *Worker) HandleSend(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseSend(t)
	if err != nil {
		return permanent(err)
	}
	return w.sendOne(ctx, p.LedgerID)
}

// sendOne is HandleSend of ledger row id: the whole attempt, step by step.
func (w *Worker) sendOne(ctx context.Context, id string) error {
	s, err := w.load(ctx, id)
	if err != nil {
		return err
	}
	if held, err := w.held(ctx, s); held || s.row.State.Terminal() {
		return err
	}
	if held, err := w.channelHeld(ctx, s); held {
		return err
	}
	if err := w.limited(ctx, s); err != nil {
		return err
	}
	if ok, err := w.claim(ctx, s); !ok {
		return err
	}
	if ok, err := w.decide(ctx, s); !ok {
		return err
	}
	return w.deliver(ctx, s)
}

// deliver is the end of an attempt on a claimed row allowed by policy:
// compose, submit and record.
func (w *Worker) deliver(ctx context.Context, s *send) error {
	if ok, err := w.compose(ctx, s); !ok {
		return err
	}
	rcpt, called, err := w.submit(ctx, s)
	if !called {
		return err
	}
	return w.record(ctx, s, rcpt, err)
}

// load reads the row and the campaign version its run was planned with, so
// that a send renders what was planned even after the campaign changed. A
// row that no longer exists will never appear, so that is not retried.
func (w *Worker) load(ctx context.Context, ledgerID string) (*send, error) {
	row, err := w.Store.GetLedger(ctx, ledgerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, permanent(fmt.Errorf("ledger %s: %w", ledgerID, err))
	}
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", ledgerID, err)
	}
	sp, err := w.spec(ctx, &row)
	if err != nil {
		return nil, err
	}
	return w.newSend(row, sp), nil
}

// newSend starts the attempt on row, planned with campaign version sp.
func (w *Worker) newSend(row store.LedgerRow, sp *campaign.Spec) *send {
	log := w.log().With("ledger", row.ID, "run", row.RunID, "campaign", row.CampaignID, "step", row.StepID, "channel", row.Channel)
	return &send{row: row, sp: sp, log: log}
}

// spec returns the campaign version row's run was planned with (the
// run's hash is read once per run and process, the version once per
// process by the catalog).
func (w *Worker) spec(ctx context.Context, row *store.LedgerRow) (*campaign.Spec, error) {
	v, err := w.runVersion(ctx, row.RunID)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: run: %w", row.ID, err)
	}
	sp, err := w.Campaigns.Campaign(ctx, row.CampaignID, v.hash)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", row.ID, err)
	}
	return sp, nil
}

// claim takes the row for this attempt and counts the attempt. A final row
// is left alone; a row found submitting means an earlier attempt died
// during the provider call, so the message may have gone: it is held as
// ambiguous for review, unless the campaign accepts one resend. Claiming
// fails quietly when another worker finished the row meanwhile.
func (w *Worker) claim(ctx context.Context, s *send) (bool, error) {
	row := &s.row
	switch {
	case row.State.Terminal():
		return false, nil
	case row.State == store.Submitting && w.InFlightGrace > 0 && time.Since(row.UpdatedAt) < w.InFlightGrace+w.recordPatience():
		// The grace covers the provider call and then the time a live
		// worker keeps retrying to write its outcome to a store that was
		// unreachable (RecordPatience) before it hands it to a record task.
		// Another task of the same row (a second run attaching, a
		// recovery) is submitting it right now: that attempt will settle
		// it, this one looks again later instead of judging it dead.
		return false, fmt.Errorf("ledger %s: being submitted by another worker; looking again later", row.ID)
	case row.State == store.Submitting && w.recording(ctx, row):
		// The attempt's outcome is known and waits in a record task.
		return false, nil
	case row.State == store.Submitting:
		if s.sp.OnAmbiguous != "resend" || row.Attempts > 1 {
			_, err := w.Store.Transition(ctx, row.ID, []store.State{store.Submitting}, store.Ambiguous,
				store.Change{Reason: "in_flight_at_failure", Error: "the previous attempt stopped during the provider call; held for review"})
			if err == nil {
				s.log.Warn("send held as ambiguous: previous attempt died mid-submission")
			}
			return false, err
		}
		// on_ambiguous: resend — one more attempt, counted below.
	}
	ok, err := w.Store.Transition(ctx, row.ID, store.NonTerminal, store.Claimed, store.Change{AddAttempt: true})
	if err != nil || !ok {
		return false, err
	}
	return true, nil
}

// recording reports whether row's attempt has its outcome in a record
// task; when that cannot be told, it says no (the row is then judged as
// before: a crash mid-submission).
func (w *Worker) recording(ctx context.Context, row *store.LedgerRow) bool {
	if w.Recording == nil {
		return false
	}
	rec, err := w.Recording(ctx, row.ID, row.Attempts)
	return err == nil && rec
}

// decide is the second policy check, right before the provider call: an
// opt-out, a suppression or a frequency cap reached since planning stops
// this send (refused), and quiet hours push it later (deferred). The
// contact is read now, after the claim, so the check sees its latest
// consent.
func (w *Worker) decide(ctx context.Context, s *send) (bool, error) {
	dec, err := w.judge(ctx, s)
	if err != nil {
		return false, err
	}
	switch dec.Verdict {
	case policy.Deny:
		_, err := w.Store.Transition(ctx, s.row.ID, []store.State{store.Claimed}, store.Refused, store.Change{Reason: dec.Reason, Error: dec.Detail})
		w.refused(s, dec)
		return false, err
	case policy.Defer:
		return false, w.deferTo(ctx, &s.row, dec.NotBefore)
	}
	return true, nil
}

// judge asks the policy about s: its contact is read now, after the
// claim, unless a batch has just read it. A policy error releases the row.
func (w *Worker) judge(ctx context.Context, s *send) (policy.Decision, error) {
	row := &s.row
	if s.c == nil {
		c, err := w.Store.GetContact(ctx, row.ContactID)
		if err != nil {
			return policy.Decision{}, fmt.Errorf("ledger %s: contact: %w", row.ID, err)
		}
		s.c = c
	}
	pol := w.Policy
	if s.pol != nil {
		pol = s.pol
	}
	dec, err := pol.Decide(ctx, policy.Input{Contact: s.c, Channel: row.Channel, Purpose: row.Purpose, Stage: policy.Send,
		FrequencyCap: compose.CapOf(s.sp)})
	if err != nil {
		return policy.Decision{}, w.release(ctx, row.ID, fmt.Errorf("ledger %s: policy: %w", row.ID, err))
	}
	return dec, nil
}

// refused logs and counts a send refused at send time.
func (w *Worker) refused(s *send, dec policy.Decision) {
	s.log.Info("send refused", "reason", dec.Reason)
	if w.Metrics != nil {
		w.Metrics.ObserveRefusal(dec.Reason)
	}
}

// compose renders the row's message (Message). A step removed from the
// campaign or a template that does not render fails the row for good (a
// retry would render the same); a failure to read links, data or
// tracking consent releases the row for a retry.
func (w *Worker) compose(ctx context.Context, s *send) (bool, error) {
	row := &s.row
	step := s.sp.Step(row.StepID)
	if step == nil {
		_, err := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Failed, store.Change{Reason: "step_removed"})
		return false, err
	}
	trackOpens := w.TrackOpens
	if trackOpens != nil && s.track != nil {
		trackOpens = s.track // decided for the whole batch
	}
	payload := w.ledgerPayload
	if s.hasPayload {
		payload = func(context.Context, string) (map[string]any, error) { return s.payload, nil }
	}
	msg, err := w.message(ctx, s.sp, step, row, s.c, trackOpens, payload)
	var re *RenderError
	if errors.As(err, &re) {
		_, terr := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Failed, store.Change{Reason: "render_error", Error: re.Err.Error()})
		s.log.Error("render failed", "err", re.Err)
		return false, errors.Join(permanent(re.Err), terr)
	}
	if err != nil {
		return false, w.release(ctx, row.ID, err)
	}
	s.msg = msg
	return true, nil
}

// RenderError is Message's error when the campaign's templates do not
// render for the recipient (a retry would render the same).
type RenderError struct{ Err error }

func (e *RenderError) Error() string { return e.Err.Error() }
func (e *RenderError) Unwrap() error { return e.Err }

// Message renders the message of row for contact c from campaign version
// sp, exactly as HandleSend hands it to the provider: the tracking links
// and headers (List-Unsubscribe), the transactional data, the composed
// content, and for a tracked channel (email) the rewritten click links
// and the open pixel when c's consent allows it. It writes nothing, so
// `relais preview` shows with it what a send would carry. A template that
// does not render is a *RenderError.
func (w *Worker) Message(ctx context.Context, sp *campaign.Spec, step *campaign.Step, row *store.LedgerRow, c *contact.Contact) (*channel.Message, error) {
	return w.message(ctx, sp, step, row, c, w.TrackOpens, w.ledgerPayload)
}

// message is Message with the open-tracking consent check trackOpens and
// the transactional data read by payload.
func (w *Worker) message(ctx context.Context, sp *campaign.Spec, step *campaign.Step, row *store.LedgerRow, c *contact.Contact,
	trackOpens func(context.Context, *contact.Contact) (bool, error),
	payload func(context.Context, string) (map[string]any, error)) (*channel.Message, error) {
	in, err := w.input(ctx, sp, step, row, c, payload)
	if err != nil {
		return nil, err
	}
	msg, err := w.Composer.Compose(in)
	if err != nil {
		return nil, &RenderError{err}
	}
	msg.RunID = strconv.FormatInt(row.RunID, 10)
	if err := w.decorate(ctx, row, c, msg, trackOpens); err != nil {
		return nil, err
	}
	return msg, nil
}

// input gathers what the composer needs besides the campaign: the tracking
// links and response code, and the data of an API-triggered
// (transactional) send, .Data in templates; marketing sends have none, so
// they skip the read.
func (w *Worker) input(ctx context.Context, sp *campaign.Spec, step *campaign.Step, row *store.LedgerRow, c *contact.Contact,
	payload func(context.Context, string) (map[string]any, error)) (compose.Input, error) {
	var links compose.Links
	var response string
	var err error
	if w.Links != nil {
		if links, response, err = w.Links.Links(row, c, sp); err != nil {
			return compose.Input{}, err
		}
	}
	var data map[string]any
	if row.Purpose == campaign.Transactional {
		if data, err = payload(ctx, row.ID); err != nil {
			return compose.Input{}, err
		}
	}
	return compose.Input{Spec: sp, Step: step, Channel: row.Channel, LedgerID: row.ID, Contact: c,
		Data: data, Links: links, Response: response, Now: w.now()}, nil
}

// ledgerPayload reads the transactional data of ledger row id (nil when
// it has none).
func (w *Worker) ledgerPayload(ctx context.Context, id string) (map[string]any, error) {
	data, err := w.Store.LedgerPayload(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return data, err
}

// decorate adds click tracking to a message of a tracked channel (email),
// and the open pixel when the contact's consent allows it.
func (w *Worker) decorate(ctx context.Context, row *store.LedgerRow, c *contact.Contact, msg *channel.Message,
	trackOpens func(context.Context, *contact.Contact) (bool, error)) error {
	if d, ok := w.Channels.Lookup(row.Channel); w.Decorator == nil || !ok || !d.Tracked {
		return nil
	}
	track := false
	if trackOpens != nil {
		var err error
		if track, err = trackOpens(ctx, c); err != nil {
			return err
		}
	}
	w.Decorator.Decorate(msg, row, track)
	return nil
}

// submit keeps the message's reply-coupon code, gets the sender ready
// (a pooled SMTP connection in hand), marks the row submitting and hands
// the message over. Submitting is recorded only once the sender is ready,
// right before the handover, so that a process dying while it waits for a
// connection leaves a claimed row (certainly not sent, resent by the
// retry), and a process dying during the handover leaves a submitting row
// (claim then holds it as ambiguous). called is false when the message
// was not handed over; err is then the task's result. Otherwise err is
// the provider's answer, for record.
func (w *Worker) submit(ctx context.Context, s *send) (rcpt channel.Receipt, called bool, err error) {
	row, msg := &s.row, s.msg
	if msg.ResponseCode != "" && w.Responses != nil {
		if err := w.Responses.SaveResponseCode(ctx, msg.ResponseCode, row.ID); err != nil {
			return rcpt, false, w.release(ctx, row.ID, err)
		}
	}
	sender, ok := w.Channels.Sender(row.Channel)
	if !ok {
		return rcpt, false, w.release(ctx, row.ID, fmt.Errorf("no sender for channel %q in this worker", row.Channel))
	}
	row.State = store.Claimed
	if held, err := w.held(ctx, s); held {
		return rcpt, false, err
	}
	if held, err := w.channelHeld(ctx, s); held {
		return rcpt, false, err
	}
	handover := func(ctx context.Context) (channel.Receipt, error) { return sender.Send(ctx, msg) }
	if p, ok := sender.(channel.Preparer); ok {
		send, abandon, err := p.Prepare(ctx, msg)
		if err != nil {
			return rcpt, false, w.notHandedOver(ctx, s, err)
		}
		handover = send
		defer func() {
			if !called {
				abandon()
			}
		}()
	}
	if ok, err := w.markSubmitting(ctx, s); err != nil || !ok {
		if err != nil {
			// The store may have applied the write and lost its answer:
			// the row would then read submitting though nothing was
			// handed over, and be held as ambiguous later. It is put back
			// to claimed like an outcome (retried through an outage).
			if serr := w.settle(ctx, s, outcomeOf(store.Claimed, store.Change{Error: "not handed over: " + err.Error()})); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		return rcpt, false, err
	}
	called = true
	s.start = w.now()
	rcpt, err = handover(ctx)
	if w.Metrics != nil {
		w.Metrics.ObserveSend(row.Channel, outcome(err), w.now().Sub(s.start))
	}
	return rcpt, true, err
}

// notHandedOver settles a claimed row whose message the sender refused
// before any handover (a message that does not build, a closed sender, a
// cancelled wait): permanent errors fail it, others release it for a retry.
func (w *Worker) notHandedOver(ctx context.Context, s *send, err error) error {
	row := &s.row
	if setting, ok := isAccount(err); ok {
		return w.accountRefused(ctx, s, err, setting, false)
	}
	if channel.IsPermanent(err) {
		_, terr := w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Failed,
			store.Change{Reason: ReasonOf(err), Error: err.Error()})
		s.log.Warn("send failed permanently", "reason", ReasonOf(err), "err", err)
		return errors.Join(permanent(err), terr)
	}
	// A cancelled wait (the worker stops) still gives the row back.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return w.release(rctx, row.ID, err)
}

// record writes the provider's answer to the ledger. A refusal of the
// account (channel.ErrAccount) pauses the channel and puts the row back
// to planned (see accountRefused). A permanent refusal
// fails the row and stops retries (and may suppress the address); a lost
// answer after the handover holds the row as ambiguous (or, under
// on_ambiguous: resend, gives it one more attempt with the same
// Message-ID); any other error puts the row back to claimed for asynq to
// retry with backoff; an acceptance records the provider's id and billed
// segments (a letter is recorded spooled, awaiting its batch). The writes survive a store outage: see settle.
func (w *Worker) record(ctx context.Context, s *send, rcpt channel.Receipt, err error) error {
	row := &s.row
	if err != nil {
		if setting, ok := isAccount(err); ok {
			return w.accountRefused(ctx, s, err, setting, true)
		}
		if channel.IsAmbiguous(err) {
			if s.sp.OnAmbiguous == "resend" && row.Reason != ReasonAmbiguousResend {
				terr := w.settle(ctx, s, outcomeOf(store.Claimed, store.Change{Reason: ReasonAmbiguousResend, Error: err.Error()}))
				s.log.Warn("send outcome unknown, resending once (on_ambiguous: resend)", "err", err)
				return errors.Join(err, terr)
			}
			terr := w.settle(ctx, s, outcomeOf(store.Ambiguous, store.Change{Reason: ReasonNoAnswer, Error: err.Error()}))
			s.log.Warn("send held as ambiguous: the provider's answer was lost after the handover", "err", err)
			return errors.Join(permanent(err), terr)
		}
		if channel.IsPermanent(err) {
			terr := w.settle(ctx, s, outcomeOf(store.Failed, store.Change{Reason: ReasonOf(err), Error: err.Error()}))
			s.log.Warn("send failed permanently", "reason", ReasonOf(err), "err", err)
			if w.OnPermanent != nil && terr == nil {
				terr = w.OnPermanent(ctx, row, s.c, ReasonOf(err))
			}
			return errors.Join(permanent(err), terr)
		}
		// The provider refused for now (4xx, 429, 5xx, network before the
		// handover): the message was not accepted, so the row goes back to
		// claimed and asynq retries it with backoff.
		terr := w.settle(ctx, s, outcomeOf(store.Claimed, store.Change{Error: err.Error()}))
		s.log.Info("send failed, will retry", "err", err)
		return errors.Join(err, terr)
	}
	// A spooled letter is not accepted yet: its batch still has to pass
	// the preflight (AssemblePrint settles it).
	to := store.Accepted
	if d, ok := w.Channels.Lookup(row.Channel); ok && d.Spooled {
		to = store.Spooled
	}
	ch := store.Change{ProviderID: rcpt.ProviderID, Segments: rcpt.Segments}
	settle := func() error { return w.settle(ctx, s, outcomeOf(to, ch)) }
	if s.batched && to == store.Accepted {
		settle = func() error { return w.accept(ctx, s, ch) }
	}
	if err := settle(); err != nil {
		return permanent(err)
	}
	s.log.Debug("sent", "provider_latency", w.now().Sub(s.start))
	return nil
}

// Reasons recorded on rows whose provider answer was lost.
const (
	// ReasonNoAnswer: held as ambiguous, the answer to the handover was lost.
	ReasonNoAnswer = "no_answer_after_handover"
	// ReasonAmbiguousResend: the answer was lost and the campaign resends
	// once (on_ambiguous: resend); a second loss holds the row.
	ReasonAmbiguousResend = "ambiguous_resend"
)
