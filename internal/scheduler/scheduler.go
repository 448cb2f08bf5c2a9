// Package scheduler keeps the campaigns folder live (reload on change or
// SIGHUP, the previous version kept when an edit is invalid), fires the
// runs of campaigns with a cron schedule through asynq's periodic task
// manager, and wires follow-up steps (package followup).
package scheduler

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
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/followup"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

// TypeFire is the asynq task type of one tick of a campaign's schedule.
const TypeFire = "relais:schedule:fire"

// DefaultSyncInterval is how often the periodic task manager re-reads the
// live schedules: reading them is an in-memory copy, and a schedule
// edited in git should apply within seconds, not asynq's 3 minutes.
const DefaultSyncInterval = 10 * time.Second

// Deps are what a Scheduler needs. Catalog, Store and Planner are
// required; RedisOpt is required by Start (the handlers work without it).
type Deps struct {
	// CampaignsDir is the folder Live watches (config campaigns_dir).
	CampaignsDir string
	Catalog      *catalog.Catalog
	Store        store.Store
	// Planner starts scheduled runs and plans follow-up steps; its Queue
	// must be set.
	Planner  *run.Planner
	RedisOpt asynq.RedisConnOpt
	Log      *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now; tests move it
	// SyncInterval defaults to DefaultSyncInterval.
	SyncInterval time.Duration
	// Debounce of file changes, default DefaultDebounce.
	Debounce time.Duration
	// Signals makes Start reload the campaigns on SIGHUP.
	Signals bool
	// TaskRetention keeps completed follow-up tasks, see
	// followup.Scheduler.TaskRetention.
	TaskRetention time.Duration
	// Retention is the daily erasure of inactive prospects (off when
	// zero); Secret keys the suppression hashes it leaves behind and is
	// required (16 bytes or more) when Retention is enabled.
	Retention Retention
	Secret    []byte
}

// Scheduler is the scheduler role of `relais serve`: Live campaigns,
// cron firings, and the follow-up handlers.
type Scheduler struct {
	d    Deps
	log  *slog.Logger
	live *Live
	fu   *followup.Scheduler
	// retention is the retention job's schedule, nil when disabled.
	retention *Schedule

	mu      sync.Mutex
	mgr     *asynq.PeriodicTaskManager
	cancel  context.CancelFunc
	done    chan struct{}
	stats   Stats
	statsMu sync.Mutex
}

// Stats count this process' schedule firings.
type Stats struct {
	Enqueued   int // fire tasks this process put on the queue
	Duplicates int // firings refused because another process enqueued the tick
	Errors     int // other enqueue failures
}

// New returns a Scheduler on d; nothing starts until Start. It fails when
// a required dependency is missing, the follow-up store cannot read
// events, or an enabled Retention is misconfigured (see Retention).
func New(d Deps) (*Scheduler, error) {
	if d.Catalog == nil || d.Store == nil || d.Planner == nil {
		return nil, errors.New("scheduler: Catalog, Store and Planner are required")
	}
	evs, ok := d.Store.(store.EventStore)
	if !ok {
		return nil, errors.New("scheduler: the store does not implement store.EventStore (follow-up conditions read events)")
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "scheduler")
	if d.SyncInterval <= 0 {
		d.SyncInterval = DefaultSyncInterval
	}
	s := &Scheduler{d: d, log: log}
	var err error
	if s.retention, err = retentionSchedule(d.Retention, d.Secret); err != nil {
		return nil, err
	}
	s.live = NewLive(d.CampaignsDir, d.Catalog, LiveOptions{Log: log, Now: d.Now, Debounce: d.Debounce, Loader: d.Catalog.Loader})
	s.fu = &followup.Scheduler{Store: d.Store, Campaigns: d.Catalog, Planner: d.Planner, Events: evs,
		Queue: d.Planner.Queue, Log: log, Now: d.Now, TaskRetention: d.TaskRetention}
	return s, nil
}

// Live returns the live campaigns (Versions for the dashboard and status,
// Reload for SIGHUP handled elsewhere).
func (s *Scheduler) Live() *Live { return s.live }

// Followups returns the follow-up scheduler; the worker calls its
// OnAccepted after each accepted send (or installs its Middleware).
func (s *Scheduler) Followups() *followup.Scheduler { return s.fu }

// Reload reloads the campaigns folder now (what SIGHUP does).
func (s *Scheduler) Reload() error { return s.live.Reload() }

// Stats returns this process' firing counts.
func (s *Scheduler) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

// Register adds the fire, retention and follow-up handlers to mux
// (worker role).
func (s *Scheduler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeFire, s.HandleFire)
	mux.HandleFunc(TypeRetention, s.HandleRetention)
	s.fu.Register(mux)
}

// Start loads the campaigns, starts watching them, and starts asynq's
// periodic task manager on the live schedules. Every process running the
// scheduler role fires every tick; the run key (the tick) makes it one
// run. It fails when the campaigns folder cannot be watched or Redis
// cannot be reached; call Shutdown after a successful Start.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.d.RedisOpt == nil {
		return errors.New("scheduler: RedisOpt is required to start")
	}
	if err := s.live.Reload(); err != nil {
		s.log.Error("some campaigns are not live", "err", err)
	}
	mgr, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
		PeriodicTaskConfigProvider: provider{s},
		RedisConnOpt:               s.d.RedisOpt,
		SyncInterval:               s.d.SyncInterval,
		SchedulerOpts: &asynq.SchedulerOpts{
			Logger:          asynqLogger{s.log},
			LogLevel:        asynq.WarnLevel,
			PostEnqueueFunc: s.postEnqueue,
		},
	})
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.live.Run(wctx, s.d.Signals); err != nil {
			s.log.Error("campaign watcher stopped", "err", err)
		}
	}()
	s.mu.Lock()
	s.mgr, s.cancel, s.done = mgr, cancel, done
	s.mu.Unlock()
	return nil
}

// Shutdown stops firing and watching; a tick being enqueued finishes.
func (s *Scheduler) Shutdown() {
	s.mu.Lock()
	mgr, cancel, done := s.mgr, s.cancel, s.done
	s.mgr, s.cancel = nil, nil
	s.mu.Unlock()
	if mgr == nil {
		return
	}
	cancel()
	<-done
	mgr.Shutdown()
}

func (s *Scheduler) postEnqueue(_ *asynq.TaskInfo, err error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	switch {
	case err == nil:
		s.stats.Enqueued++
	case queue.IsDuplicate(err):
		s.stats.Duplicates++
	default:
		s.stats.Errors++
		s.log.Error("schedule firing not enqueued", "err", err)
	}
}

// FirePayload is the payload of a TypeFire task: the campaign version the
// schedule belonged to when it was registered.
type FirePayload struct {
	Campaign    string `json:"c"`
	ContentHash string `json:"h"`
}

// provider gives asynq the live schedules.
type provider struct{ s *Scheduler }

// GetConfigs returns one periodic task per live campaign with a schedule,
// plus the retention job when it is enabled.
// The task is unique per campaign version for half a period, so when
// several processes fire the same tick the queue refuses all but the
// first (the run key catches any that get through later).
func (p provider) GetConfigs() ([]*asynq.PeriodicTaskConfig, error) {
	var out []*asynq.PeriodicTaskConfig
	for _, sp := range p.s.live.Specs() {
		c, err := FireConfig(sp, p.s.now())
		if err != nil {
			p.s.log.Error("schedule not registered", "campaign", sp.ID, "err", err)
			continue
		}
		if c != nil {
			out = append(out, c)
		}
	}
	if c := p.s.RetentionConfig(); c != nil {
		out = append(out, c)
	}
	return out, nil
}

// FireConfig returns the periodic task of sp's schedule (nil without
// one). It fails on a schedule that does not parse.
func FireConfig(sp *campaign.Spec, now time.Time) (*asynq.PeriodicTaskConfig, error) {
	if sp.Schedule == nil {
		return nil, nil
	}
	sch, err := ParseSchedule(*sp.Schedule)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(FirePayload{Campaign: sp.ID, ContentHash: sp.ContentHash}) // cannot fail
	ttl := min(max(sch.Period(now)/2, time.Second), time.Hour).Truncate(time.Second)
	return &asynq.PeriodicTaskConfig{
		Cronspec: sch.Spec,
		Task:     asynq.NewTask(TypeFire, b),
		Opts: []asynq.Option{
			asynq.Queue(queue.ForPurpose(sp.Purpose)),
			asynq.Unique(ttl),
			asynq.MaxRetry(queue.MaxRetry),
		},
	}, nil
}

// HandleFire starts the run of one tick: run key = the tick time in the
// schedule's zone, so every process firing the same tick starts (or
// resumes) the same run and nobody gets the message twice.
func (s *Scheduler) HandleFire(ctx context.Context, t *asynq.Task) error {
	var p FirePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("fire payload: %w: %w", err, asynq.SkipRetry)
	}
	sp, err := s.d.Catalog.Campaign(ctx, p.Campaign, p.ContentHash)
	if err != nil {
		return fmt.Errorf("schedule of %s: %w", p.Campaign, err)
	}
	if sp.Schedule == nil {
		return fmt.Errorf("campaign %s has no schedule: %w", sp.ID, asynq.SkipRetry)
	}
	key, err := TickKey(sp, s.now())
	if err != nil {
		return fmt.Errorf("schedule of %s: %w: %w", sp.ID, err, asynq.SkipRetry)
	}
	log := s.log.With("campaign", sp.ID, "run_key", key)
	r, err := s.d.Store.FindRun(ctx, sp.ID, key)
	switch {
	case err == nil && r.ContentHash != sp.ContentHash:
		// Another process fired this tick with another version of the
		// file (it reloaded first): that run is the tick's run.
		log.Info("tick already run with another version", "run", r.ID)
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("schedule of %s: %w", sp.ID, err)
	}
	res, err := s.d.Planner.Start(ctx, sp, key)
	if err != nil {
		return fmt.Errorf("scheduled run of %s: %w", sp.ID, err)
	}
	log.Info("scheduled run", "run", res.Run.ID, "created", res.Created, "planned", res.Planned, "refused", res.Refused)
	return nil
}

// TickKey is the run key of the tick of sp's schedule a firing handled at
// now belongs to (see Schedule.Tick and Schedule.RunKey).
func TickKey(sp *campaign.Spec, now time.Time) (string, error) {
	if sp.Schedule == nil {
		return "", errors.New("campaign has no schedule")
	}
	sch, err := ParseSchedule(*sp.Schedule)
	if err != nil {
		return "", err
	}
	tick, err := sch.Tick(now)
	if err != nil {
		return "", err
	}
	return sch.RunKey(tick), nil
}

func (s *Scheduler) now() time.Time {
	if s.d.Now != nil {
		return s.d.Now()
	}
	return time.Now()
}

// asynqLogger routes asynq's scheduler logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.l.Debug(fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.l.Info(fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.l.Warn(fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.l.Error(fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.l.Error(fmt.Sprint(args...)) }
