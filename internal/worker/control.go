package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store"
)

// ControlTTL is how long a worker trusts what it read of a run's pause or
// cancellation: an operator's pause reaches every worker process within
// this delay plus one send.
const ControlTTL = 500 * time.Millisecond

// PausedRecheck is how long a send of a paused run waits before it looks
// again; it bounds how late sends restart after a resume.
const PausedRecheck = time.Second

// Requeue is the error of a send put back on the queue without having
// failed (its run is paused, or a rate limit says not yet): asynq retries
// it after Delay and does not count the attempt (see IsFailure).
type Requeue struct {
	Delay time.Duration
	Why   string
}

func (e *Requeue) Error() string { return fmt.Sprintf("requeued for %s: %s", e.Delay, e.Why) }

// IsFailure is asynq's Config.IsFailure for the send server: a requeue is
// not a failure, so a paused or rate-limited send never uses up retries.
func IsFailure(err error) bool {
	var r *Requeue
	return !errors.As(err, &r)
}

// RetryDelay is asynq's Config.RetryDelayFunc for the send server: a
// requeue waits its own delay, anything else asynq's exponential backoff.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	var r *Requeue
	if errors.As(err, &r) {
		return r.Delay
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// control is what a worker last read of a run's operator state.
type control struct {
	paused, canceled bool
	reason           string
	read             time.Time
}

// runControl returns whether run id is paused or canceled, read from the
// store at most once per ControlTTL and process.
func (w *Worker) runControl(ctx context.Context, id int64) (control, error) {
	now := time.Now()
	if v, ok := w.controls.Load(id); ok {
		if c := v.(control); now.Sub(c.read) < ControlTTL {
			return c, nil
		}
	}
	r, err := w.Store.GetRun(ctx, id)
	if err != nil {
		return control{}, err
	}
	c := control{paused: !r.PausedAt.IsZero(), canceled: !r.CanceledAt.IsZero(), reason: r.CancelReason, read: now}
	w.controls.Store(id, c)
	return c, nil
}

// held reports whether the operator holds s's run: a canceled run's row
// ends as canceled (false, nil: the task is done), a paused run's row goes
// back to planned when claimed and the task is requeued (false, *Requeue).
func (w *Worker) held(ctx context.Context, s *send) (bool, error) {
	c, err := w.runControl(ctx, s.row.RunID)
	if err != nil {
		return true, fmt.Errorf("ledger %s: run: %w", s.row.ID, err)
	}
	switch {
	case c.canceled && s.row.State == store.Submitting:
		return false, nil // claim decides: the message may have gone
	case c.canceled:
		_, err := w.Store.Transition(ctx, s.row.ID, store.Unsent, store.Canceled, store.Change{Reason: "canceled", Error: c.reason})
		return true, err
	case c.paused:
		rq := &Requeue{Delay: PausedRecheck, Why: "run paused"}
		if s.row.State == store.Claimed {
			_, err := w.Store.Transition(ctx, s.row.ID, []store.State{store.Claimed}, store.Planned, store.Change{})
			return true, errors.Join(rq, err)
		}
		return true, rq
	}
	return false, nil
}

// RateLimiter shares a message budget between worker processes
// (queue.Limiter): Allow answers 0 when one message of key may go now,
// else how long to wait.
type RateLimiter interface {
	Allow(ctx context.Context, key string, n int, per time.Duration) (time.Duration, error)
}

// RateSpread is the most a rate-limited send waits beyond the limiter's
// answer: sends refused at the same moment come back spread over it
// rather than all at once.
const RateSpread = 2 * time.Second

// limited applies the campaign's limit for the row's channel (limits:
// {email: 500/h}) and then the configuration's limit for the channel,
// shared by every campaign (ChannelRates); a send over either is
// requeued, neither claimed nor counted as an attempt. A send refused by
// the second budget has used one message of the first: the campaign may
// go slower than its own limit then, never faster.
func (w *Worker) limited(ctx context.Context, s *send) error {
	if w.Limiter == nil {
		return nil
	}
	ch := s.row.Channel
	if rate, ok := s.sp.Limits.Rates[ch]; ok {
		if err := w.allow(ctx, "campaign:"+s.row.CampaignID+":"+ch, rate, "rate limit of "+ch); err != nil {
			return err
		}
	}
	if rate, ok := w.ChannelRates[ch]; ok {
		return w.allow(ctx, "channel:"+ch, rate, "configured rate limit of "+ch)
	}
	return nil
}

// allow takes one message from key's budget of rate, or returns the
// Requeue that waits for it.
func (w *Worker) allow(ctx context.Context, key string, rate campaign.Rate, why string) error {
	if rate.N <= 0 {
		return nil
	}
	wait, err := w.Limiter.Allow(ctx, key, rate.N, rate.Per)
	if err != nil || wait == 0 {
		return err
	}
	spread := min(RateSpread, rate.Per/time.Duration(rate.N)*50)
	return &Requeue{Delay: wait + rand.N(spread+1), Why: why}
}
