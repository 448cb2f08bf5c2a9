// Package run expands a campaign into ledger rows and queue tasks, resumes
// an interrupted expansion, and re-derives pending tasks from the ledger.
package run

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/version"
)

// BatchSize is how many recipients are written and enqueued together.
const BatchSize = 1000

// Planner creates runs. Queue may be nil for Plan (nothing is enqueued).
type Planner struct {
	Store         store.Store
	Queue         queue.Enqueuer
	Policy        policy.Decider
	Log           *slog.Logger
	Now           func() time.Time
	TaskRetention time.Duration
	// Batch groups marketing sends, and transactional ones enqueued in
	// bulk, for batched handling (zero: each send is handled alone).
	Batch queue.Batching
	// EphemeralQueue says the queue lives in this process (embedded
	// mode): resuming a run that finished expanding re-derives its tasks,
	// lost with the process that queued them.
	EphemeralQueue bool
	// Channels are the channels runs plan for (nil: the built-in ones).
	Channels *channel.Registry
	// Tasks, when set, lets recovery replace a row's task that exists but
	// will never run again (archived, or completed while the row is not
	// final); without it such a row is skipped as already queued.
	Tasks queue.Reviver
	// Lock, when set, leases a run's expansion to one process
	// (queue.ExpandLock): a second start of the same run while the first
	// expands attaches to it instead of expanding it too.
	Lock Locker
}

// Locker leases the expansion of a run to one process; ok is false when
// another holds it.
type Locker interface {
	Acquire(ctx context.Context, runID int64) (release func(), ok bool, err error)
}

func (p *Planner) channels() *channel.Registry {
	if p.Channels != nil {
		return p.Channels
	}
	return builtinChannels()
}

// builtinChannels is the registry of planners given none.
var builtinChannels = sync.OnceValue(builtin.Channels)

// Spooled reports whether the result plans sends on a spooled channel of
// channels (print), whose batches are assembled when the run's sends are
// done.
func (r Result) Spooled(channels *channel.Registry) bool {
	for ch, n := range r.ByChannel {
		if d, ok := channels.Lookup(ch); ok && d.Spooled && n > 0 {
			return true
		}
	}
	return false
}

// Result summarizes a plan or an expansion: per channel and per refusal
// reason, with the estimated cost.
type Result struct {
	Run     store.Run `json:"run"`
	Created bool      `json:"created"`
	// Attached is true when another process was expanding the run: this
	// start planned nothing and left the expansion to it.
	Attached bool `json:"attached,omitempty"`
	Targeted int  `json:"targeted"` // recipients × steps planned at start
	Planned  int  `json:"planned"`  // rows to send
	Refused  int  `json:"refused"`  // rows refused at plan time
	// AlreadyReceived counts sends left out because an earlier version of
	// the campaign (another run of the same id) may have reached the
	// person with the step on the channel's family.
	AlreadyReceived int            `json:"already_received"`
	Enqueued        int            `json:"enqueued"`   // tasks newly put on the queue
	ByChannel       map[string]int `json:"by_channel"` // planned rows per channel
	ByReason        map[string]int `json:"by_reason"`  // refused rows per reason
	RowErrors       int            `json:"row_errors"` // audience rows skipped as invalid
	Cost            float64        `json:"estimated_cost"`
	Currency        string         `json:"currency,omitempty"`
}

func newResult(sp *campaign.Spec) Result {
	return Result{ByChannel: map[string]int{}, ByReason: map[string]int{}, Currency: sp.Cost.Currency}
}

// DefaultRunKey is the run key used when none is given: the campaign's
// content hash, so running an unchanged campaign twice sends nothing twice.
func DefaultRunKey(sp *campaign.Spec) string { return sp.ContentHash }

// Source opens the audience of sp: its file (CSV/JSONL, streamed) or the
// contact store.
func Source(sp *campaign.Spec, st store.Store, onRowError func(audience.RowError)) (audience.Source, error) {
	switch sp.Audience.Source {
	case "file":
		var m *audience.Mapping
		if sp.Audience.Mapping != "" {
			var err error
			if m, err = audience.LoadMapping(filepath.Join(sp.Root, sp.Audience.Mapping)); err != nil {
				return nil, err
			}
		}
		fs, err := audience.OpenFile(filepath.Join(sp.Root, sp.Audience.File), m)
		if err != nil {
			return nil, err
		}
		fs.OnRowError = onRowError
		return fs, nil
	case "", "contacts":
		return audience.StoreSource{S: st}, nil
	default:
		return nil, fmt.Errorf("audience source %q is not supported", sp.Audience.Source)
	}
}

// initialSteps are the steps sent from the run's start (follow-ups with
// `after`/`when` are scheduled per recipient later).
func initialSteps(sp *campaign.Spec) []*campaign.Step {
	var out []*campaign.Step
	for i := range sp.Steps {
		if s := &sp.Steps[i]; s.After == 0 && s.When == "" {
			out = append(out, s)
		}
	}
	return out
}

// Plan expands the audience without writing or sending anything: counts
// per channel and refusal reason, and the estimated cost (`relais plan`).
func (p *Planner) Plan(ctx context.Context, sp *campaign.Spec) (Result, error) {
	res := newResult(sp)
	err := p.walk(ctx, sp, &res, func(batch []*contact.Contact) error {
		if sp.Audience.Source == "file" {
			// Start stores file rows and the policy then sees their stored
			// consent and suppressions; the plan matches them the same way
			// without writing, or it would count people run refuses.
			if err := p.Store.MatchContacts(ctx, batch); err != nil {
				return fmt.Errorf("match contacts: %w", err)
			}
		}
		ids, err := p.ids(ctx, batch, false)
		if err != nil {
			return err
		}
		got, err := p.received(ctx, sp, 0, "", ids)
		if err != nil {
			return err
		}
		d, err := p.prefetch(ctx, sp, initialSteps(sp), batch)
		if err != nil {
			return err
		}
		for i, c := range batch {
			for _, st := range initialSteps(sp) {
				if got.has(p.channels(), sp, st, ids[i]) {
					res.AlreadyReceived++
					continue
				}
				ch, dec, err := chooseWith(ctx, d, sp, st, c, sp.ChannelsFor(st))
				if err != nil {
					return err
				}
				res.count(sp, ch, dec)
			}
		}
		return nil
	})
	return res, err
}

// Start creates the run of sp with runKey (DefaultRunKey when empty) and
// expands it. Starting again with the same key resumes the same run: rows
// that exist are kept, missing ones are added, planned rows are
// (re-)enqueued, so a crash during expansion loses and duplicates nothing;
// a run that finished expanding is left as it is.
func (p *Planner) Start(ctx context.Context, sp *campaign.Spec, runKey string) (Result, error) {
	return p.StartResend(ctx, sp, runKey, "")
}

// StartResend is Start that, with a reason, sends again to people an
// earlier version of the campaign reached (relais run --resend); the
// reason is recorded on the run. Its default run key is new for each
// resend, since the point is to send again.
func (p *Planner) StartResend(ctx context.Context, sp *campaign.Spec, runKey, resend string) (Result, error) {
	if runKey == "" {
		runKey = DefaultRunKey(sp)
		if resend != "" {
			runKey += "+resend@" + p.now().UTC().Format(time.RFC3339Nano)
		}
	}
	if err := p.CheckApproval(ctx, sp); err != nil {
		return Result{}, err
	}
	// An audience that cannot be opened (a missing or empty file) is
	// reported before the run exists: a run created first would stay in
	// "expanding" with nothing to expand.
	if _, err := Source(sp, p.Store, nil); err != nil {
		return Result{}, err
	}
	// The version is stored before any task exists, so every worker can
	// load what the run's rows name, with or without the campaigns folder.
	if err := version.Save(ctx, p.Store, sp); err != nil {
		return Result{}, err
	}
	r, created, err := p.Store.CreateRun(ctx, store.Run{CampaignID: sp.ID, RunKey: runKey, ContentHash: sp.ContentHash, State: store.RunExpanding,
		ResendReason: resend})
	if err != nil {
		return Result{}, fmt.Errorf("create run: %w", err)
	}
	res := newResult(sp)
	res.Run, res.Created = r, created
	if r.ContentHash != sp.ContentHash {
		return res, fmt.Errorf("run key %q was used by another version of campaign %s (%.12s); use a new --run-key", runKey, sp.ID, r.ContentHash)
	}
	if r.State == store.RunExpanding && p.Lock != nil {
		release, ok, err := p.Lock.Acquire(ctx, r.ID)
		if err != nil {
			return res, fmt.Errorf("run %d: expansion lease: %w", r.ID, err)
		}
		if !ok {
			res.Attached = true
			return res, nil
		}
		defer release()
		// The holder before us may have finished meanwhile.
		if r, err = p.Store.GetRun(ctx, r.ID); err != nil {
			return res, err
		}
		res.Run = r
	}
	if r.State != store.RunExpanding {
		// Fully expanded before: every sendable row got its task before
		// the run left expanding. A queue that lived in an earlier process
		// died with it, so its tasks are re-derived from the ledger. A
		// shared queue still has them: re-deriving them there would
		// duplicate sends (a row whose task was gathered into a batch has
		// no task under its own id any more, yet is being sent), and a
		// shared queue that lost its data is `relais recover`'s job.
		if !p.EphemeralQueue {
			return res, nil
		}
		n, err := p.Recover(ctx, r)
		res.Enqueued = n
		return res, err
	}
	log := p.log().With("campaign", sp.ID, "run", r.ID)
	log.Info("expanding run", "resumed", !created)
	steps := initialSteps(sp)
	var existing map[rowKey]store.LedgerRow
	if !created {
		if existing, err = p.existingRows(ctx, r.ID); err != nil {
			return res, err
		}
	}
	enq := p.newEnqueuer(ctx)
	prepare := func(batch []*contact.Contact) (prepared, error) {
		if sp.Audience.Source == "file" {
			if _, _, err := p.Store.UpsertContacts(ctx, batch); err != nil {
				return prepared{}, fmt.Errorf("store contacts: %w", err)
			}
		}
		ids, err := p.ids(ctx, batch, false)
		if err != nil {
			return prepared{}, err
		}
		got, err := p.received(ctx, sp, r.ID, r.ResendReason, ids)
		if err != nil {
			return prepared{}, err
		}
		d, err := p.prefetch(ctx, sp, steps, batch)
		if err != nil {
			return prepared{}, err
		}
		return prepared{batch: batch, got: got, d: d}, nil
	}
	finish := func(pb prepared) error {
		batch, got, d := pb.batch, pb.got, pb.d
		// The policy decisions (a few database reads each) run in
		// parallel; rows keep the audience's order.
		n := len(batch) * len(steps)
		chans := make([]string, n)
		decs := make([]policy.Decision, n)
		skip := make([]bool, n)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(DecideParallelism)
		for i, c := range batch {
			for j, st := range steps {
				k := i*len(steps) + j
				if e, ok := existing[rowKey{st.ID, c.ID}]; ok {
					// Resumed: the contact has this step's row already,
					// on whichever channel was chosen then.
					chans[k], decs[k] = e.Channel, decisionOf(e)
					continue
				}
				if skip[k] = got.has(p.channels(), sp, st, c.ID); skip[k] {
					continue
				}
				g.Go(func() (err error) {
					chans[k], decs[k], err = chooseWith(gctx, d, sp, st, c, sp.ChannelsFor(st))
					return err
				})
			}
		}
		if err := g.Wait(); err != nil {
			return err
		}
		rows := make([]store.LedgerRow, 0, n)
		for i, c := range batch {
			for j, st := range steps {
				k := i*len(steps) + j
				if skip[k] {
					res.AlreadyReceived++
					continue
				}
				res.count(sp, chans[k], decs[k])
				if e, ok := existing[rowKey{st.ID, c.ID}]; ok {
					rows = append(rows, e)
					continue
				}
				rows = append(rows, p.ledgerRow(r, sp, st, c, chans[k], decs[k]))
			}
		}
		if _, err := p.Store.InsertLedger(ctx, rows); err != nil {
			return fmt.Errorf("insert ledger: %w", err)
		}
		// The rows are durable: their tasks go on the queue while the
		// next batch is read and decided.
		return enq.add(rows)
	}
	// A batch is prepared (its contacts stored, the policy's lookups
	// read) while the one before it is decided and written: the database
	// works on one while the planner works on the other. Contacts are
	// still stored batch after batch, and what a batch's decisions read
	// (consent, suppressions, sends of other runs, sent rows of the
	// frequency cap) is not written by the batch before it.
	var pending chan preparedOrErr
	await := func() (prepared, error) {
		if pending == nil {
			return prepared{}, nil
		}
		r := <-pending
		pending = nil
		return r.prepared, r.err
	}
	err = p.walk(ctx, sp, &res, func(batch []*contact.Contact) error {
		prev, err := await()
		if err != nil {
			return err
		}
		own := append([]*contact.Contact(nil), batch...) // walk reuses batch
		ch := make(chan preparedOrErr, 1)
		pending = ch
		go func() {
			pb, err := prepare(own)
			ch <- preparedOrErr{pb, err}
		}()
		if prev.batch == nil {
			return nil
		}
		return finish(prev)
	})
	if last, perr := await(); err == nil {
		if err = perr; err == nil && last.batch != nil {
			err = finish(last)
		}
	}
	queued, qerr := enq.wait()
	res.Enqueued = queued
	if err == nil {
		err = qerr
	}
	if err != nil {
		return res, err
	}
	if err := p.Store.SetRunState(ctx, r.ID, store.RunSending, res.Planned+res.Refused); err != nil {
		return res, err
	}
	res.Run, _ = p.Store.GetRun(ctx, r.ID)
	if res.Spooled(p.channels()) {
		if err := p.enqueueAssembly(ctx, r.ID); err != nil {
			return res, err
		}
	}
	log.Info("run expanded", "planned", res.Planned, "refused", res.Refused, "enqueued", res.Enqueued)
	return res, nil
}

// Recover re-enqueues every row of run r that still has to be sent, from
// the ledger (after a Redis wipe, or a crash), and the print assembly when
// letters wait in the spool; rows whose task is still queued are refused
// by the queue as duplicates and skipped.
func (p *Planner) Recover(ctx context.Context, r store.Run) (int, error) {
	total := 0
	f := store.LedgerFilter{RunID: r.ID, States: store.NonTerminal, Limit: BatchSize}
	for {
		rows, err := p.Store.ListLedger(ctx, f)
		if err != nil {
			return total, err
		}
		if len(rows) == 0 {
			return total, p.assembleSpooled(ctx, r)
		}
		// A submitting row goes back on the queue too: the worker decides
		// (hold as ambiguous, or resend under on_ambiguous: resend),
		// unless its outcome waits in a record task.
		f.AfterID = rows[len(rows)-1].ID
		rows, _, err = p.submitting(ctx, rows)
		if err != nil {
			return total, err
		}
		if rows, err = p.unbatched(ctx, rows); err != nil {
			return total, err
		}
		n, err := p.enqueue(ctx, rows)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// assembleSpooled queues the print assembly of r when letters of it wait
// in the spool (their assembly task was lost, or never ran).
func (p *Planner) assembleSpooled(ctx context.Context, r store.Run) error {
	c, err := p.Store.CountLedger(ctx, r.ID)
	if err != nil || c[string(store.Spooled)] == 0 {
		return err
	}
	return p.enqueueAssembly(ctx, r.ID)
}

// enqueueAssembly queues run's print assembly; one already queued is kept.
func (p *Planner) enqueueAssembly(ctx context.Context, runID int64) error {
	if _, err := p.Queue.EnqueueContext(ctx, queue.NewAssembleTask(runID, queue.AssembleRecheck)); err != nil && !queue.IsDuplicate(err) {
		return fmt.Errorf("enqueue print assembly: %w", err)
	}
	return nil
}

func (r *Result) count(sp *campaign.Spec, ch string, dec policy.Decision) {
	r.Targeted++
	if dec.Verdict == policy.Deny {
		r.Refused++
		r.ByReason[dec.Reason]++
		return
	}
	r.Planned++
	r.ByChannel[ch]++
	r.Cost += sp.Cost.PerUnit[ch]
}

func (p *Planner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Planner) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}
