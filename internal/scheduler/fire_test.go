package scheduler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/testenv"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is one "process": its own catalog, planner and asynq client on a
// shared Redis and database.
type env struct {
	st     store.Store
	client *asynq.Client
	sched  *Scheduler
	dir    string
}

func newEnv(t *testing.T, st store.Store, redisURL, dir string, clk *clock) *env {
	t.Helper()
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	eng, err := policy.New(policy.DefaultRules(), st.(policy.Lookup), []byte("test-secret-0123456789abcdef"), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pl := &run.Planner{Store: st, Queue: client, Policy: eng, Log: log, Now: clk.Now}
	s, err := New(Deps{CampaignsDir: dir, Catalog: catalog.New(dir), Store: st, Planner: pl, RedisOpt: opt, Log: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	return &env{st: st, client: client, sched: s, dir: dir}
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := storeopen.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func fireTask(t *testing.T, sp *campaign.Spec) *asynq.Task {
	t.Helper()
	c, err := FireConfig(sp, time.Now())
	if err != nil || c == nil {
		t.Fatalf("FireConfig: %v", err)
	}
	return c.Task
}

// TestFireOneRunPerTick: two processes firing the same ticks (at slightly
// different times, one with its clock behind) start one run per tick, and
// each recipient is planned once per run.
func TestFireOneRunPerTick(t *testing.T) {
	_, redisURL := testenv.StartRedis(t)
	st := openSQLite(t)
	dir := repo(t, yamlWith("hebdo", `schedule: { cron: "0 9 * * MON", timezone: Europe/Paris }`))
	clkA, clkB := &clock{}, &clock{}
	a := newEnv(t, st, redisURL, dir, clkA)
	b := newEnv(t, st, redisURL, dir, clkB)
	sp := a.sched.Live().Specs()[0]
	ctx := context.Background()

	ticks := []struct {
		name     string
		atA, atB time.Time
		wantKey  string
		wantRuns int
	}{
		{name: "first Monday", atA: utc("2027-03-22T08:00:00.020Z"), atB: utc("2027-03-22T07:59:59.500Z"), wantKey: "2027-03-22T09:00:00+01:00", wantRuns: 1},
		{name: "after the change to summer time", atA: utc("2027-03-29T07:00:00.900Z"), atB: utc("2027-03-29T07:00:00.010Z"), wantKey: "2027-03-29T09:00:00+02:00", wantRuns: 2},
	}
	for _, tk := range ticks {
		t.Run(tk.name, func(t *testing.T) {
			clkA.Set(tk.atA)
			clkB.Set(tk.atB)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, e := range []*env{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = e.sched.HandleFire(ctx, fireTask(t, sp))
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("HandleFire: %v", err)
				}
			}
			runs, err := st.ListRuns(ctx, "hebdo", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != tk.wantRuns {
				t.Fatalf("%d runs, want %d: %+v", len(runs), tk.wantRuns, runs)
			}
			if runs[0].RunKey != tk.wantKey {
				t.Errorf("run key %q, want %q", runs[0].RunKey, tk.wantKey)
			}
			rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: runs[0].ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 {
				t.Errorf("%d ledger rows, want one per recipient (3)", len(rows))
			}
		})
	}
}

// TestFireUniqueOnQueue: the fire task of a tick enqueued by a second
// process while the first is queued is refused by Redis.
func TestFireUniqueOnQueue(t *testing.T) {
	_, redisURL := testenv.StartRedis(t)
	dir := repo(t, yamlWith("hebdo", `schedule: { cron: "* * * * *", timezone: UTC }`))
	a := newEnv(t, openSQLite(t), redisURL, dir, &clock{t: time.Now()})
	sp := a.sched.Live().Specs()[0]
	c, err := FireConfig(sp, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Cronspec != "CRON_TZ=UTC * * * * *" {
		t.Errorf("cronspec %q", c.Cronspec)
	}
	var p FirePayload
	if err := json.Unmarshal(c.Task.Payload(), &p); err != nil || p.Campaign != "hebdo" || p.ContentHash != sp.ContentHash {
		t.Fatalf("payload %s: %v", c.Task.Payload(), err)
	}
	if _, err := a.client.Enqueue(c.Task, c.Opts...); err != nil {
		t.Fatal(err)
	}
	_, err = a.client.Enqueue(c.Task, c.Opts...)
	if !queue.IsDuplicate(err) {
		t.Fatalf("second enqueue of the same tick: %v, want a duplicate error", err)
	}
	cfgs, err := provider{a.sched}.GetConfigs()
	if err != nil || len(cfgs) != 1 || cfgs[0].Cronspec != c.Cronspec {
		t.Fatalf("provider configs %v, %v", cfgs, err)
	}
}

// TestAtStepQueuedForLater: a step with `at:` in the future is planned at
// run start and queued to be processed at that time, not before.
func TestAtStepQueuedForLater(t *testing.T) {
	_, redisURL := testenv.StartRedis(t)
	st := openSQLite(t)
	at := "2027-03-20T09:00:00+01:00"
	y := strings.Replace(yamlWith("hebdo", ""), "  - id: lettre\n", "  - id: lettre\n    at: "+at+"\n", 1)
	dir := repo(t, y)
	clk := &clock{t: utc("2027-03-19T10:00:00Z")}
	e := newEnv(t, st, redisURL, dir, clk)
	sp := e.sched.Live().Specs()[0]
	if sp.Steps[0].At == nil {
		t.Fatal("at: not decoded")
	}
	res, err := e.sched.d.Planner.Start(context.Background(), sp, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Enqueued != 3 {
		t.Fatalf("enqueued %d, want 3", res.Enqueued)
	}
	opt, _ := queue.RedisOpt(redisURL)
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	tasks, err := insp.ListScheduledTasks(queue.Marketing)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 {
		t.Fatalf("%d scheduled tasks, want 3", len(tasks))
	}
	want := utc("2027-03-20T08:00:00Z")
	for _, ti := range tasks {
		if !ti.NextProcessAt.Equal(want) {
			t.Errorf("task %s due %s, want %s", ti.ID, ti.NextProcessAt.UTC(), want)
		}
	}
	if pending, _ := insp.ListPendingTasks(queue.Marketing); len(pending) != 0 {
		t.Errorf("%d tasks pending now, want none before %s", len(pending), at)
	}
}
