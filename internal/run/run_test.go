package run_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
)

// dyingQueue enqueues on a real Redis and fails for good after limit
// tasks, as an expanding process killed halfway would stop.
type dyingQueue struct {
	c     *asynq.Client
	limit int64
	n     atomic.Int64
}

var errDied = errors.New("expanding process died")

func (q *dyingQueue) EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	if q.limit > 0 && q.n.Add(1) > q.limit {
		return nil, errDied
	}
	return q.c.EnqueueContext(ctx, t, opts...)
}

// TestStartResumesAfterDyingHalfway expands a 3,500-recipient audience
// whose expansion dies after about 1,200 tasks, then starts the same run
// again: every recipient ends with exactly one ledger row and one queued
// task, none twice.
func TestStartResumesAfterDyingHalfway(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	src := filepath.Join("testdata", "repo")
	for _, p := range []string{"campaigns/resume.yaml", "templates/hello.txt"} {
		b, err := os.ReadFile(filepath.Join(src, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(repo, "samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(repo, "samples", "audience.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := audience.GenerateCSV(f, 3500); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sp, err := campaign.Load(filepath.Join(repo, "campaigns", "resume.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, redisURL := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	defer client.Close()
	pol, err := policy.New(policy.DefaultRules(), st, []byte("run-test-secret-0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}

	dying := &dyingQueue{c: client, limit: 1200}
	p := &run.Planner{Store: st, Queue: dying, Policy: pol}
	if _, err := p.Start(ctx, sp, "k"); !errors.Is(err, errDied) {
		t.Fatalf("first expansion: %v, want it to die", err)
	}
	first, err := st.FindRun(ctx, sp.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	if first.State != store.RunExpanding {
		t.Fatalf("run state %s after dying, want expanding", first.State)
	}

	p.Queue = client
	res, err := p.Start(ctx, sp, "k")
	if err != nil {
		t.Fatalf("resumed expansion: %v", err)
	}
	if res.Created || res.Run.ID != first.ID {
		t.Fatalf("resume created a new run: %+v", res.Run)
	}
	counts, err := st.CountLedger(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	rows := counts[string(store.Planned)] + counts[string(store.Refused)]
	// GenerateCSV repeats about 1 % of the people: duplicates are dropped
	// by the audience, so rows = distinct recipients.
	if rows < 3400 || rows > 3500 || counts[string(store.Planned)] == 0 {
		t.Fatalf("ledger %v", counts)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	qi, err := insp.GetQueueInfo(queue.Transactional)
	if err != nil {
		t.Fatal(err)
	}
	if qi.Pending != counts[string(store.Planned)] {
		t.Fatalf("%d tasks queued for %d planned rows: lost or doubled", qi.Pending, counts[string(store.Planned)])
	}
	// Every planned row has its task: ids are the ledger ids.
	all, err := st.ListLedger(ctx, store.LedgerFilter{RunID: first.ID, States: []store.State{store.Planned}, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if _, err := insp.GetTaskInfo(queue.Transactional, queue.SendTaskID(r.ID, r.NotBefore)); err != nil {
			t.Fatalf("ledger row %s has no task: %v", r.ID, err)
		}
	}
	// A third start of the finished run adds nothing.
	again, err := p.Start(ctx, sp, "k")
	if err != nil || again.Enqueued != 0 {
		t.Fatalf("third start enqueued %d (%v)", again.Enqueued, err)
	}
}
