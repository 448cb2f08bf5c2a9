package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// DefaultSendParallelism is how many messages of batches a worker process
// has in flight at once when SendParallelism is not set.
const DefaultSendParallelism = 50

// HandleBatch delivers the ledger rows of a TypeSendBatch task, each as
// HandleSend would, with the per-row round trips of the store batched:
// one statement claims every claimable row, one query each reads their
// contacts, suppressions, consents and frequency-cap counts, the refusals
// are recorded in one statement, and the acceptances of concurrent sends
// and the submitting marks of concurrent sends are written together
// (grouped). Messages go out concurrently, at most
// SendParallelism per process, and a row is marked submitting only once
// its sender is ready, as in HandleSend.
//
// A row's failure is that row's alone: a row to be retried gets a
// follow-up single send task; the batch task itself fails only when
// nothing could be claimed (the store is unreachable) or a follow-up could
// not be queued, and a retry of it skips rows already final.
func (w *Worker) HandleBatch(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseBatch(t)
	if err != nil {
		return permanent(err)
	}
	c, err := w.runControl(ctx, p.RunID)
	if err != nil {
		return fmt.Errorf("batch of run %d: %w", p.RunID, err)
	}
	switch {
	case c.paused && !c.canceled:
		return &Requeue{Delay: PausedRecheck, Why: "run paused"}
	case c.canceled:
		// Each row settles as canceled (or ambiguous) on its own.
		return w.eachOne(ctx, p)
	}
	v, err := w.runVersion(ctx, p.RunID)
	if err != nil {
		return fmt.Errorf("batch of run %d: %w", p.RunID, err)
	}
	sp, err := w.Campaigns.Campaign(ctx, v.campaign, v.hash)
	if err != nil {
		return fmt.Errorf("batch of run %d: %w", p.RunID, err)
	}
	if w.Limiter != nil && w.rateLimited(sp) {
		// A rate-limited campaign is paced message by message: each row
		// goes back to the queue as a single send, nothing claimed.
		return w.unbatch(ctx, p)
	}
	// At most batchesAhead batches are claimed and waiting to be sent:
	// the queue runs as many batch tasks as the process's concurrency,
	// and without this each of them would claim its rows and hold their
	// contacts in memory long before a slot is free for them.
	release, err := w.aheadSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	rows, err := w.batchStore().ClaimLedger(ctx, p.LedgerIDs)
	if err != nil {
		return err
	}
	claimed := make(map[string]bool, len(rows))
	for _, r := range rows {
		claimed[r.ID] = true
	}
	// Rows the claim left alone (final, submitting, or an unknown id)
	// take the single path, which knows what each state means.
	var rest []string
	for _, id := range p.LedgerIDs {
		if !claimed[id] {
			rest = append(rest, id)
		}
	}
	fu := &followUps{w: w, purpose: p.Purpose}
	if rows, err = w.skipPausedChannels(ctx, rows, fu); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, id := range rest {
			fu.add(ctx, id, p.RunID, w.inSlot(ctx, func() error { return w.sendOne(ctx, id) }))
		}
	}()
	sends, err := w.prepareBatch(ctx, rows, fu)
	if err != nil {
		wg.Wait()
		return err
	}
	w.dispatchSends(ctx, sends, &wg, fu)
	release() // every send holds a slot: the next batch may be claimed
	wg.Wait()
	return fu.err()
}

// dispatchSends starts the delivery of each send of a batch, each on its
// own goroutine (counted in wg) once it holds a slot: a batch waiting for
// slots is one parked goroutine, not one per row (thousands of parked
// goroutines are stacks the garbage collector scans on every cycle).
// Batches take their slots one after the other (w.dispatch), so they
// finish one after the other and free their queue worker early: batches
// taking slots in turn all finished late together, and a transactional
// task waited seconds for a free worker. sends[i] is cleared once its
// goroutine has it, so that a delivered message is garbage at once, not
// when its whole batch is done.
func (w *Worker) dispatchSends(ctx context.Context, sends []*send, wg *sync.WaitGroup, fu *followUps) {
	if len(sends) == 0 {
		return
	}
	// Sends left without a slot (the context ended) get their follow-ups
	// once the other batches may take slots again.
	var unsent []*send
	var cause error
	defer func() {
		for _, s := range unsent {
			fu.add(ctx, s.row.ID, s.row.RunID, cause)
		}
	}()
	w.dispatch.Lock()
	defer w.dispatch.Unlock()
	for i, s := range sends {
		sends[i] = nil
		s.batched = true
		if err := w.acquireSlot(ctx); err != nil {
			unsent, cause = append(unsent, s), err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.releaseSlot()
			fu.add(ctx, s.row.ID, s.row.RunID, w.deliver(ctx, s))
		}()
	}
}

// rateLimited reports whether sp's sends are paced: by its own limits or
// by the configuration's limit of one of its channels.
func (w *Worker) rateLimited(sp *campaign.Spec) bool {
	if len(sp.Limits.Rates) > 0 {
		return true
	}
	for i := range sp.Steps {
		for _, ch := range sp.ChannelsFor(&sp.Steps[i]) {
			if _, ok := w.ChannelRates[ch]; ok {
				return true
			}
		}
	}
	return false
}

// unbatch queues each row of p as a single send task, due now.
func (w *Worker) unbatch(ctx context.Context, p queue.BatchPayload) error {
	fu := &followUps{w: w, purpose: p.Purpose}
	for _, id := range p.LedgerIDs {
		fu.add(ctx, id, p.RunID, &Requeue{Why: "rate-limited campaign"})
	}
	return fu.err()
}

// eachOne runs the single path on each row, with follow-ups for retries.
func (w *Worker) eachOne(ctx context.Context, p queue.BatchPayload) error {
	fu := &followUps{w: w, purpose: p.Purpose}
	for _, id := range p.LedgerIDs {
		fu.add(ctx, id, p.RunID, w.sendOne(ctx, id))
	}
	return fu.err()
}

// prepareBatch reads what deciding the claimed rows needs, records the
// refusals and deferrals, and returns the sends to deliver. Rows whose
// campaign version, contact or policy could not be read are released
// with a follow-up task.
func (w *Worker) prepareBatch(ctx context.Context, rows []store.LedgerRow, fu *followUps) ([]*send, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ContactID)
	}
	contacts, err := w.Store.GetContactsByID(ctx, ids)
	if err != nil {
		return nil, w.releaseAll(ctx, rows, fmt.Errorf("batch contacts: %w", err))
	}
	// The rows of a batch share a run, step and channel, hence a campaign
	// version and a policy read; rows that do not (a hand-made batch) are
	// read for their own kind.
	type kind struct {
		runID            int64
		campaign         string
		channel, purpose string
	}
	byKind := map[kind][]*send{}
	var order []kind
	for _, r := range rows {
		k := kind{r.RunID, r.CampaignID, r.Channel, r.Purpose}
		if _, ok := byKind[k]; !ok {
			order = append(order, k)
		}
		s := w.newSend(r, nil)
		s.c = contacts[r.ContactID] // nil: judge reads it (and fails it)
		byKind[k] = append(byKind[k], s)
	}
	var allowed []*send
	for _, k := range order {
		ss := byKind[k]
		sp, err := w.spec(ctx, &ss[0].row)
		if err != nil {
			w.releaseSends(ctx, ss, err, fu)
			continue
		}
		cs := make([]*contact.Contact, 0, len(ss))
		for _, s := range ss {
			s.sp = sp
			cs = append(cs, s.c)
		}
		if pf, ok := w.Policy.(policy.Prefetcher); ok {
			eng, err := pf.Prefetch(ctx, cs, []string{k.channel}, k.purpose, compose.CapOf(sp))
			if err != nil {
				w.releaseSends(ctx, ss, err, fu)
				continue
			}
			for _, s := range ss {
				s.pol, s.track = eng, eng.TrackOpens
			}
		}
		ok, err := w.decideBatch(ctx, ss, fu)
		if err != nil {
			return nil, err
		}
		allowed = append(allowed, ok...)
	}
	w.readPayloads(ctx, allowed)
	return allowed, nil
}

// readPayloads reads the transactional data of the allowed transactional
// sends in one query; when that read fails each send reads its own.
func (w *Worker) readPayloads(ctx context.Context, sends []*send) {
	var ids []string
	for _, s := range sends {
		if s.row.Purpose == campaign.Transactional {
			ids = append(ids, s.row.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	data, err := w.Store.LedgerPayloads(ctx, ids)
	if err != nil {
		w.log().Warn("batch payload read failed, each row reads its own", "rows", len(ids), "err", err)
		return
	}
	for _, s := range sends {
		if s.row.Purpose == campaign.Transactional {
			s.payload, s.hasPayload = data[s.row.ID], true
		}
	}
}

// decideBatch judges each send; the refusals are recorded in one
// statement, deferrals one by one (quiet hours re-queue each row for its
// own time). It returns the allowed sends.
func (w *Worker) decideBatch(ctx context.Context, ss []*send, fu *followUps) ([]*send, error) {
	var allowed []*send
	var refusals []store.Outcome
	refused := map[string]*send{}
	decs := map[string]policy.Decision{}
	for _, s := range ss {
		dec, err := w.judge(ctx, s)
		if err != nil {
			fu.add(ctx, s.row.ID, s.row.RunID, err)
			continue
		}
		switch dec.Verdict {
		case policy.Deny:
			refusals = append(refusals, store.Outcome{ID: s.row.ID, Change: store.Change{Reason: dec.Reason, Error: dec.Detail}})
			refused[s.row.ID], decs[s.row.ID] = s, dec
		case policy.Defer:
			fu.add(ctx, s.row.ID, s.row.RunID, w.deferTo(ctx, &s.row, dec.NotBefore))
		default:
			allowed = append(allowed, s)
		}
	}
	moved, err := w.batchStore().Settle(ctx, []store.State{store.Claimed}, store.Refused, refusals)
	if err != nil {
		// Left claimed: a follow-up judges them again.
		for _, o := range refusals {
			fu.add(ctx, o.ID, refused[o.ID].row.RunID, err)
		}
		return allowed, nil
	}
	for _, id := range moved {
		w.refused(refused[id], decs[id])
	}
	return allowed, nil
}

// releaseSends puts claimed rows back with err and a follow-up each.
func (w *Worker) releaseSends(ctx context.Context, ss []*send, err error, fu *followUps) {
	for _, s := range ss {
		fu.add(ctx, s.row.ID, s.row.RunID, w.release(ctx, s.row.ID, err))
	}
}

// releaseAll puts claimed rows back when nothing about them could be
// read; the batch task is retried (err).
func (w *Worker) releaseAll(ctx context.Context, rows []store.LedgerRow, err error) error {
	errs := []error{err}
	for _, r := range rows {
		if _, terr := w.Store.Transition(ctx, r.ID, []store.State{store.Claimed}, store.Planned, store.Change{Error: err.Error()}); terr != nil {
			errs = append(errs, terr)
		}
	}
	return errors.Join(errs...)
}

// batchStore returns the store's batched statements.
func (w *Worker) batchStore() store.BatchStore { return w.Store }

// parallelism is SendParallelism or its default.
func (w *Worker) parallelism() int {
	if w.SendParallelism <= 0 {
		return DefaultSendParallelism
	}
	return w.SendParallelism
}

// inFlight is how many sends of batches the process has in flight.
func (w *Worker) inFlight() int { return len(w.slots) }

// inSlot runs fn holding one of the process's SendParallelism slots.
func (w *Worker) inSlot(ctx context.Context, fn func() error) error {
	if err := w.acquireSlot(ctx); err != nil {
		return err
	}
	defer w.releaseSlot()
	return fn()
}

// batchesAhead is how many batches a process keeps claimed before their
// sends hold a slot: enough to keep parallelism slots busy while the next
// batches are read (a batch is at most ~100 rows), and a few to spare.
func batchesAhead(parallelism int) int { return 2 + (parallelism+49)/50 }

// aheadSlot waits until fewer than batchesAhead batches are claimed and
// not yet dispatched; release (idempotent) lets the next one in.
func (w *Worker) aheadSlot(ctx context.Context) (release func(), err error) {
	w.initSlots()
	select {
	case w.ahead <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-w.ahead }) }, nil
}

func (w *Worker) initSlots() {
	w.slotsOnce.Do(func() {
		w.slots = make(chan struct{}, w.parallelism())
		w.ahead = make(chan struct{}, batchesAhead(w.parallelism()))
	})
}

// acquireSlot waits for one of the process's SendParallelism slots; the
// waiters get them in turn.
func (w *Worker) acquireSlot(ctx context.Context) error {
	w.initSlots()
	select {
	case w.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releaseSlot gives back a slot taken by acquireSlot.
func (w *Worker) releaseSlot() { <-w.slots }

// followUps turns the retryable results of a batch's rows into single
// send tasks, so that a row is retried on its own; permanent results and
// successes need nothing more.
type followUps struct {
	w       *Worker
	purpose string // the batch's (empty: marketing)
	mu      sync.Mutex
	errs    []error
}

func (f *followUps) add(ctx context.Context, id string, runID int64, err error) {
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		return
	}
	w := f.w
	delay := asynq.DefaultRetryDelayFunc(1, err, nil)
	var rq *Requeue
	if errors.As(err, &rq) {
		delay = rq.Delay
	} else {
		w.log().Info("send of a batch failed, retried on its own", "ledger", id, "err", err)
	}
	if w.Queue == nil {
		f.mu.Lock()
		f.errs = append(f.errs, fmt.Errorf("ledger %s: no queue to retry on: %w", id, err))
		f.mu.Unlock()
		return
	}
	at := w.now().Add(delay)
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, qerr := w.Queue.EnqueueContext(qctx, queue.NewSendTask(id, runID, f.purpose, at, w.TaskRetention))
	if qerr != nil && !queue.IsDuplicate(qerr) {
		f.mu.Lock()
		f.errs = append(f.errs, fmt.Errorf("ledger %s: enqueue retry: %w (after %w)", id, qerr, err))
		f.mu.Unlock()
	}
}

func (f *followUps) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}
