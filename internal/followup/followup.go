// Package followup schedules a campaign's follow-up steps (`after`,
// `when`) per recipient: when a step's send is accepted, the next step is
// put on the queue as a delayed task; when it falls due, its condition is
// evaluated over that recipient's events in the run and, if it holds, the
// step is planned and sent like any other.
package followup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// TypeFollowup is the asynq task type of a follow-up step falling due
// for one recipient.
const TypeFollowup = "relais:followup"

// Campaigns finds the campaign version a run was planned with
// (catalog.Catalog).
type Campaigns interface {
	Campaign(ctx context.Context, id, contentHash string) (*campaign.Spec, error)
}

// Planner plans one step for one recipient (run.Planner).
type Planner interface {
	PlanOne(ctx context.Context, r store.Run, sp *campaign.Spec, st *campaign.Step, c *contact.Contact) (store.LedgerRow, bool, error)
}

// Events reads a recipient's events (store.EventStore).
type Events interface {
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
}

// Enqueuer puts tasks on the queue (asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Scheduler schedules and evaluates follow-up steps. Store, Campaigns,
// Planner, Events and Queue are required; Log defaults to slog.Default()
// and Now to time.Now. Safe for concurrent use.
type Scheduler struct {
	Store     store.Store
	Campaigns Campaigns
	Planner   Planner
	Events    Events
	Queue     Enqueuer
	Log       *slog.Logger
	// Now is the clock: a follow-up is due Now()+after. Tests move it.
	Now func() time.Time
	// TaskRetention keeps a completed follow-up task (and so its task id)
	// in Redis for that long, refusing a re-enqueue of the same step for
	// the same recipient meanwhile; 0 keeps none (PlanOne still refuses
	// to plan a step twice).
	TaskRetention time.Duration

	progs programs
	runs  runCache
}

// runCache remembers each run's campaign version (immutable once the run
// exists), so the send hook costs no database read for campaigns without
// follow-ups.
type runCache struct {
	mu sync.Mutex
	m  map[int64]runSpec
}

type runSpec struct {
	run store.Run
	sp  *campaign.Spec
}

// maxCachedRuns bounds the cache of a daemon that runs for months.
const maxCachedRuns = 10000

// runSpec returns run id (as created: its state may be stale) with its
// campaign version.
func (s *Scheduler) runSpec(ctx context.Context, id int64) (store.Run, *campaign.Spec, error) {
	s.runs.mu.Lock()
	rs, ok := s.runs.m[id]
	s.runs.mu.Unlock()
	if ok {
		return rs.run, rs.sp, nil
	}
	r, err := s.Store.GetRun(ctx, id)
	if err != nil {
		return r, nil, fmt.Errorf("run %d: %w", id, err)
	}
	sp, err := s.Campaigns.Campaign(ctx, r.CampaignID, r.ContentHash)
	if err != nil {
		return r, nil, fmt.Errorf("run %d: %w", id, err)
	}
	s.runs.mu.Lock()
	if s.runs.m == nil || len(s.runs.m) >= maxCachedRuns {
		s.runs.m = map[int64]runSpec{}
	}
	s.runs.m[id] = runSpec{r, sp}
	s.runs.mu.Unlock()
	return r, sp, nil
}

// Payload is a follow-up task's payload: ids only, no personal data on
// Redis.
type Payload struct {
	RunID     int64  `json:"r"`
	StepID    string `json:"s"`
	ContactID int64  `json:"c"`
}

// TaskID is the asynq task id of step stepID of run runID for one
// contact: the queue refuses a second one while the first is pending, so
// a send accepted twice (a retried hook) schedules its follow-up once.
func TaskID(runID int64, stepID string, contactID int64) string {
	return fmt.Sprintf("followup:%d:%s:%d", runID, stepID, contactID)
}

// IsFollowup reports whether st is sent per recipient after the previous
// step rather than from the run's start.
func IsFollowup(st *campaign.Step) bool { return st.After > 0 || st.When != "" }

// Next returns the follow-up step that comes after step stepID in sp, or
// nil: only the step right after it, and only when that one is a
// follow-up (a step without after/when is sent from the run's start).
func Next(sp *campaign.Spec, stepID string) *campaign.Step {
	for i := range sp.Steps {
		if sp.Steps[i].ID != stepID {
			continue
		}
		if i+1 < len(sp.Steps) && IsFollowup(&sp.Steps[i+1]) {
			return &sp.Steps[i+1]
		}
		return nil
	}
	return nil
}

// HasFollowups reports whether any step of sp is a follow-up.
func HasFollowups(sp *campaign.Spec) bool {
	for i := range sp.Steps {
		if IsFollowup(&sp.Steps[i]) {
			return true
		}
	}
	return false
}

// OnAccepted is called after the send of row was accepted by its
// provider: it schedules the next step of the campaign for that recipient
// when it is a follow-up, due after its `after` delay. Calling it again
// for the same row is harmless (the task id refuses the duplicate). It
// fails when the run or its campaign version cannot be found or the queue
// refuses the task; the caller should retry (the send itself is done).
func (s *Scheduler) OnAccepted(ctx context.Context, row store.LedgerRow) error {
	r, sp, err := s.runSpec(ctx, row.RunID)
	if err != nil {
		return fmt.Errorf("follow-up of ledger %s: %w", row.ID, err)
	}
	next := Next(sp, row.StepID)
	if next == nil {
		return nil
	}
	return s.schedule(ctx, sp, r.ID, next, row.ContactID)
}

// schedule enqueues step st for one contact, due after st.After.
func (s *Scheduler) schedule(ctx context.Context, sp *campaign.Spec, runID int64, st *campaign.Step, contactID int64) error {
	b, _ := json.Marshal(Payload{RunID: runID, StepID: st.ID, ContactID: contactID}) // cannot fail: scalars
	opts := []asynq.Option{
		asynq.TaskID(TaskID(runID, st.ID, contactID)),
		asynq.Queue(queue.ForPurpose(sp.Purpose)),
		asynq.MaxRetry(queue.MaxRetry),
		asynq.ProcessAt(s.now().Add(st.After)),
	}
	if s.TaskRetention > 0 {
		opts = append(opts, asynq.Retention(s.TaskRetention))
	}
	_, err := s.Queue.EnqueueContext(ctx, asynq.NewTask(TypeFollowup, b, opts...))
	if err != nil && !queue.IsDuplicate(err) {
		return fmt.Errorf("enqueue follow-up %s of run %d: %w", st.ID, runID, err)
	}
	return nil
}

// Register adds the follow-up handler to mux.
func (s *Scheduler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeFollowup, s.HandleFollowup)
}

// Middleware calls OnAccepted after every send task (single or batch)
// for each ledger row it left accepted, for a worker that does not call it itself. For a
// campaign with follow-ups it costs one ledger read per send (none
// otherwise, the run's campaign being cached). A failure to schedule the
// follow-up fails the send task, whose retry finds the row final and only
// retries the hook.
func (s *Scheduler) Middleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := next.ProcessTask(ctx, t)
		if err != nil {
			return err
		}
		var runID int64
		var ids []string
		switch t.Type() {
		case queue.TypeSend:
			p, err := queue.ParseSend(t)
			if err != nil {
				return nil // the send handler reported it already
			}
			runID, ids = p.RunID, []string{p.LedgerID}
		case queue.TypeSendBatch:
			p, err := queue.ParseBatch(t)
			if err != nil {
				return nil // the batch handler reported it already
			}
			runID, ids = p.RunID, p.LedgerIDs
		default:
			return nil
		}
		if runID != 0 {
			_, sp, err := s.runSpec(ctx, runID)
			if err != nil {
				return fmt.Errorf("follow-up of run %d: %w", runID, err)
			}
			if !HasFollowups(sp) {
				return nil
			}
		}
		var errs []error
		for _, id := range ids {
			errs = append(errs, s.afterSend(ctx, id))
		}
		return errors.Join(errs...)
	})
}

// afterSend schedules the follow-up of ledger row id when its send was
// accepted (a row a batch left for a single retry is scheduled by that
// retry's task).
func (s *Scheduler) afterSend(ctx context.Context, id string) error {
	row, err := s.Store.GetLedger(ctx, id)
	if err != nil {
		return fmt.Errorf("follow-up of ledger %s: %w", id, err)
	}
	if row.State != store.Accepted && row.State != store.Delivered {
		return nil
	}
	return s.OnAccepted(ctx, row)
}

// HandleFollowup evaluates a due follow-up step for one recipient: a
// marketing campaign stops for a recipient who responded, converted or
// unsubscribed in this run; a false `when` skips the step (the next
// follow-up, if any, is then timed from now); otherwise the step is
// planned (channel fallback and policy as at run start) and sent.
func (s *Scheduler) HandleFollowup(ctx context.Context, t *asynq.Task) error {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("follow-up payload: %w: %w", err, asynq.SkipRetry)
	}
	r, err := s.Store.GetRun(ctx, p.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("follow-up of run %d: %w: %w", p.RunID, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("follow-up of run %d: %w", p.RunID, err)
	}
	log := s.log().With("campaign", r.CampaignID, "run", r.ID, "step", p.StepID, "contact", p.ContactID)
	sp, err := s.Campaigns.Campaign(ctx, r.CampaignID, r.ContentHash)
	if err != nil {
		return fmt.Errorf("follow-up of run %d: %w", r.ID, err)
	}
	st := sp.Step(p.StepID)
	if st == nil {
		return fmt.Errorf("follow-up of run %d: campaign has no step %q: %w", r.ID, p.StepID, asynq.SkipRetry)
	}
	c, err := s.Store.GetContact(ctx, p.ContactID)
	if errors.Is(err, store.ErrNotFound) {
		log.Info("follow-up skipped: contact gone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow-up of run %d: contact: %w", r.ID, err)
	}
	evs, err := s.events(ctx, r.ID, c.ID)
	if err != nil {
		return err
	}
	if sp.Purpose != campaign.Transactional && evs.stopped() {
		log.Info("follow-up stopped: the recipient responded, converted or unsubscribed")
		return nil
	}
	if st.When != "" {
		ok, err := s.eval(sp, st, c, evs)
		if err != nil {
			return fmt.Errorf("follow-up of run %d: %w: %w", r.ID, err, asynq.SkipRetry)
		}
		if !ok {
			log.Debug("follow-up condition false")
			if next := Next(sp, st.ID); next != nil {
				return s.schedule(ctx, sp, r.ID, next, c.ID)
			}
			return nil
		}
	}
	row, created, err := s.Planner.PlanOne(ctx, r, sp, st, c)
	if err != nil {
		return fmt.Errorf("follow-up of run %d step %s: %w", r.ID, st.ID, err)
	}
	log.Debug("follow-up planned", "ledger", row.ID, "channel", row.Channel, "state", row.State, "new", created)
	return nil
}

// events reads the recipient's events in the run (all of them: a person
// rarely has more than a few dozen per run).
func (s *Scheduler) events(ctx context.Context, runID, contactID int64) (eventSet, error) {
	f := store.EventFilter{RunID: runID, ContactID: contactID, Limit: 1000}
	var out eventSet
	for {
		evs, err := s.Events.ListEvents(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("follow-up of run %d: events: %w", runID, err)
		}
		out = append(out, evs...)
		if len(evs) < f.Limit {
			return out, nil
		}
		f.AfterID = evs[len(evs)-1].ID
	}
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
