package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// result is where a submitting row goes once the provider answered.
type result struct {
	to store.State
	ch store.Change
}

func outcomeOf(to store.State, ch store.Change) result { return result{to: to, ch: ch} }

// DefaultRecordPatience is how long a worker keeps retrying to write an
// outcome to an unreachable store before it hands the outcome to a record
// task.
const DefaultRecordPatience = 30 * time.Second

func (w *Worker) recordPatience() time.Duration {
	if w.RecordPatience > 0 {
		return w.RecordPatience
	}
	return DefaultRecordPatience
}

// settle moves a submitting row to r once the provider has answered. The
// provider's answer is the one thing that cannot be asked again, so a
// store error does not lose it: the write is retried with backoff for
// RecordPatience, then the outcome goes on the queue as a record task
// (HandleRecord) that asynq retries until the store takes it. It returns
// an error only when neither worked; the row then stays submitting and
// `relais recover` holds it as ambiguous.
func (w *Worker) settle(ctx context.Context, s *send, r result) error {
	row := &s.row
	deadline := time.Now().Add(w.recordPatience())
	wait := 100 * time.Millisecond
	var err error
	for {
		if _, err = w.Store.Transition(ctx, row.ID, []store.State{store.Submitting}, r.to, r.ch); err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			break
		}
		s.log.Warn("store unreachable while recording a send outcome; retrying", "to", r.to, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	if w.Queue == nil {
		s.log.Error("send outcome not recorded: store unreachable; the row stays submitting for `relais recover`",
			"to", r.to, "provider_id", r.ch.ProviderID, "err", err)
		return fmt.Errorf("ledger %s: record %s: %w", row.ID, r.to, err)
	}
	p := queue.RecordPayload{LedgerID: row.ID, RunID: row.RunID, Purpose: row.Purpose, To: string(r.to),
		Reason: r.ch.Reason, ProviderID: r.ch.ProviderID, Error: r.ch.Error, Segments: r.ch.Segments}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, qerr := w.Queue.EnqueueContext(qctx, queue.NewRecordTask(p, row.Attempts+1))
	if qerr == nil || queue.IsDuplicate(qerr) {
		s.log.Warn("send outcome handed to a record task until the store is back", "to", r.to, "provider_id", r.ch.ProviderID)
		return nil
	}
	s.log.Error("send outcome not recorded: store and queue unreachable; the row stays submitting for `relais recover`",
		"to", r.to, "provider_id", r.ch.ProviderID, "err", err, "queue_err", qerr)
	return fmt.Errorf("ledger %s: record %s: %w", row.ID, r.to, errors.Join(err, qerr))
}

// HandleRecord writes an outcome a send could not record (see settle). A
// row no longer submitting was settled meanwhile and is left alone; a row
// going back to claimed (a temporary refusal) gets a send task again.
func (w *Worker) HandleRecord(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseRecord(t)
	if err != nil {
		return permanent(err)
	}
	to := store.State(p.To)
	ok, err := w.Store.Transition(ctx, p.LedgerID, []store.State{store.Submitting}, to,
		store.Change{Reason: p.Reason, ProviderID: p.ProviderID, Error: p.Error, Segments: p.Segments})
	if err != nil {
		return fmt.Errorf("ledger %s: record %s: %w", p.LedgerID, to, err)
	}
	if ok && to == store.Claimed {
		at := w.now().Add(time.Second)
		_, err := w.Queue.EnqueueContext(ctx, queue.NewSendTask(p.LedgerID, p.RunID, p.Purpose, at, w.TaskRetention))
		if err != nil && !queue.IsDuplicate(err) {
			return fmt.Errorf("ledger %s: enqueue retry: %w", p.LedgerID, err)
		}
	}
	w.log().Info("send outcome recorded from a record task", "ledger", p.LedgerID, "to", to, "applied", ok)
	return nil
}
