package run_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
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

// rig is a transactional campaign (resume.yaml) of a generated audience
// of n people, a SQLite store, a real Redis and the policy engine.
type rig struct {
	sp     *campaign.Spec
	st     *sqlstore.Store
	opt    asynq.RedisConnOpt
	client *asynq.Client
	pol    *policy.Engine
}

func newRig(t *testing.T, n int) *rig {
	t.Helper()
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
	if err := audience.GenerateCSV(f, n); err != nil {
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
	t.Cleanup(func() { st.Close() })
	_, redisURL := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	pol, err := policy.New(policy.DefaultRules(), st, []byte("run-test-secret-0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}

	return &rig{sp: sp, st: st, opt: opt, client: client, pol: pol}
}

// TestStartResumesAfterDyingHalfway expands a 3,500-recipient audience
// whose expansion dies after about 1,200 tasks, then starts the same run
// again: every recipient ends with exactly one ledger row and one queued
// task, none twice.
func TestStartResumesAfterDyingHalfway(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 3500)
	sp, st, opt, client, pol := r.sp, r.st, r.opt, r.client, r.pol
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

// TestBulkTransactionalSendsGrouped: with batching on, the sends of a
// transactional campaign expanded from an audience are grouped for
// batches on the transactional queue (none is pending alone), while a
// transactional send triggered for one person (StartOne, the API's path)
// stays a single task, pending at once.
func TestBulkTransactionalSendsGrouped(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 500)
	p := &run.Planner{Store: r.st, Queue: r.client, Policy: r.pol, Batch: queue.DefaultBatching()}
	res, err := p.Start(ctx, r.sp, "bulk")
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(r.opt)
	defer insp.Close()
	qi, err := insp.GetQueueInfo(queue.Transactional)
	if err != nil {
		t.Fatal(err)
	}
	if res.Enqueued == 0 || qi.Aggregating != res.Enqueued || qi.Pending != 0 {
		t.Fatalf("%d enqueued: %d aggregating, %d pending; want all aggregating", res.Enqueued, qi.Aggregating, qi.Pending)
	}
	groups, err := insp.Groups(queue.Transactional)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if !strings.HasSuffix(g.Group, ":"+queue.Transactional) {
			t.Errorf("group %s of a transactional run lacks the transactional suffix", g.Group)
		}
	}

	c := &contact.Contact{Email: "seule@dupont.example", FirstName: "Anne"}
	if _, _, err := r.st.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
		t.Fatal(err)
	}
	one, rows, err := p.StartOne(ctx, r.sp, c, nil, "one")
	if err != nil || one.Enqueued != 1 || len(rows) != 1 {
		t.Fatalf("StartOne: %d enqueued, %d rows (%v), want 1", one.Enqueued, len(rows), err)
	}
	qi, err = insp.GetQueueInfo(queue.Transactional)
	if err != nil {
		t.Fatal(err)
	}
	if qi.Pending != 1 || qi.Aggregating != res.Enqueued {
		t.Fatalf("after a single send: %d pending, %d aggregating; want 1 and %d", qi.Pending, qi.Aggregating, res.Enqueued)
	}
}

// A run expanded by an earlier version has rows under the ids of that
// version (store.LegacyLedgerID): a follow-up of such a row finds it and
// writes no second row, so its recipient gets no second message.
func TestPlanOneFindsARowOfTheEarlierIDFormat(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, 10)
	p := &run.Planner{Store: r.st, Queue: r.client, Policy: r.pol}
	c := &contact.Contact{Email: "ancienne@dupont.example", FirstName: "Anne"}
	if _, _, err := r.st.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
		t.Fatal(err)
	}
	rn, _, err := r.st.CreateRun(ctx, store.Run{CampaignID: r.sp.ID, RunKey: "old", ContentHash: r.sp.ContentHash, State: store.RunSending})
	if err != nil {
		t.Fatal(err)
	}
	st := &r.sp.Steps[0]
	legacy := store.LegacyLedgerID(rn.ID, st.ID, c.ID, "email")
	if _, err := r.st.InsertLedger(ctx, []store.LedgerRow{{ID: legacy, RunID: rn.ID, CampaignID: r.sp.ID, StepID: st.ID,
		ContactID: c.ID, Channel: "email", Purpose: r.sp.Purpose, State: store.Planned}}); err != nil {
		t.Fatal(err)
	}
	row, created, err := p.PlanOne(ctx, rn, r.sp, st, c)
	if err != nil || created || row.ID != legacy {
		t.Fatalf("PlanOne = %s, created %v (%v); want the stored row %s", row.ID, created, err, legacy)
	}
	counts, err := r.st.CountLedger(ctx, rn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[string(store.Planned)] != 1 || len(counts) != 1 {
		t.Errorf("ledger %v, want the one planned row", counts)
	}
	// A contact without a row gets one under the current id.
	d := &contact.Contact{Email: "nouvelle@dupont.example", FirstName: "Inès"}
	if _, _, err := r.st.UpsertContacts(ctx, []*contact.Contact{d}); err != nil {
		t.Fatal(err)
	}
	row, created, err = p.PlanOne(ctx, rn, r.sp, st, d)
	if err != nil || !created || row.ID != store.LedgerID(rn.ID, st.ID, d.ID, "email") {
		t.Fatalf("PlanOne of a new contact = %s, created %v (%v)", row.ID, created, err)
	}
}
