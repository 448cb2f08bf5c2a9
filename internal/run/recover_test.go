package run_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
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

// resumeRepo copies the resume campaign into a fresh repository with an
// audience of n generated persons.
func resumeRepo(t *testing.T, n int) *campaign.Spec {
	t.Helper()
	return repoWith(t, "resume", n)
}

// repoWith copies campaign name into a fresh repository with an audience
// of n generated persons.
func repoWith(t *testing.T, name string, n int) *campaign.Spec {
	t.Helper()
	repo := t.TempDir()
	for _, p := range []string{"campaigns/" + name + ".yaml", "templates/hello.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "repo", p))
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
	sp, err := campaign.Load(filepath.Join(repo, "campaigns", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestRecoverAllRevivesDeadTasks: rows whose task was archived (retries
// exhausted), deleted (Redis lost it) or completed while the row is not
// final all get a task again; queued ones are left alone; rows whose
// outcome waits in a record task (the store was down when the provider
// answered) are left to it, its archived record task runs again; rows
// carried by a batch task that may still run are left to it, those of an
// archived batch get a task again; a second recovery enqueues nothing.
func TestRecoverAllRevivesDeadTasks(t *testing.T) {
	ctx := context.Background()
	sp := resumeRepo(t, 60)
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
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	pol, err := policy.New(policy.DefaultRules(), st, []byte("run-test-secret-0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &run.Planner{Store: st, Queue: client, Policy: pol, Tasks: queue.InspectorReviver{Inspector: insp}}
	res, err := p.Start(ctx, sp, "k")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: res.Run.ID, States: []store.State{store.Planned}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 20 {
		t.Fatalf("%d planned rows, want at least 20", len(rows))
	}
	q := queue.ForPurpose(sp.Purpose)
	for _, r := range rows[:5] { // retries exhausted
		if err := insp.ArchiveTask(q, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows[5:9] { // lost with Redis
		if err := insp.DeleteTask(q, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows[9:12] { // found mid-submission, task archived
		if _, err := st.Transition(ctx, r.ID, []store.State{store.Planned}, store.Submitting, store.Change{}); err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(q, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Provider answered, store down: the outcome waits in a record task
	// (one still retrying, one whose retries ran out); the send task is
	// done. These rows must not be judged left mid-submission.
	for i, r := range rows[12:14] {
		if _, err := st.Transition(ctx, r.ID, []store.State{store.Planned}, store.Submitting, store.Change{AddAttempt: true}); err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(q, r.ID); err != nil {
			t.Fatal(err)
		}
		rec := queue.NewRecordTask(queue.RecordPayload{LedgerID: r.ID, RunID: r.RunID, Purpose: r.Purpose, To: string(store.Accepted)}, 1)
		if _, err := client.Enqueue(rec); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := insp.ArchiveTask(queue.Transactional, queue.RecordTaskID(r.ID, 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Gathered into batches by the aggregator: their own tasks are gone.
	// A batch that may still run carries three rows (left alone: queuing
	// them would send them twice); an archived batch carries two (they
	// are queued again).
	batch := func(rs []store.LedgerRow, archive bool) {
		var ts []*asynq.Task
		for _, r := range rs {
			ts = append(ts, queue.NewSendTask(r.ID, r.RunID, r.Purpose, r.NotBefore, 0))
			if err := insp.DeleteTask(q, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		info, err := client.Enqueue(queue.Aggregate("g", ts), asynq.Queue(q))
		if err != nil {
			t.Fatal(err)
		}
		if archive {
			if err := insp.ArchiveTask(q, info.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	batch(rows[14:17], false)
	batch(rows[17:19], true)
	rep, err := p.RecoverAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := run.RecoverReport{Rows: len(rows), Submitting: 3, Recording: 2, Enqueued: 14, Runs: 1}
	if rep != want {
		t.Fatalf("RecoverAll = %+v, want %+v", rep, want)
	}
	qi, err := insp.GetQueueInfo(q)
	if err != nil {
		t.Fatal(err)
	}
	// The send queue holds the rows' tasks and, when it is the, the two record tasks too.
	// transactional queue, the two record tasks too; three rows are in
	// their pending batch.
	wantPending := len(rows) - 2 - 3 + 1
	if q == queue.Transactional {
		wantPending += 2
	}
	if qi.Pending != wantPending || qi.Archived != 3 {
		t.Fatalf("queue: %d pending, %d archived; want %d pending, 3 archived (the recorded sends', the dead batch)", qi.Pending, qi.Archived, wantPending)
	}
	for _, r := range rows[12:14] {
		ti, err := insp.GetTaskInfo(queue.Transactional, queue.RecordTaskID(r.ID, 1))
		if err != nil || ti.State != asynq.TaskStatePending {
			t.Fatalf("record task of %s: %v %v, want pending", r.ID, ti, err)
		}
	}
	rep, err = p.RecoverAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued != 0 || rep.Recording != 2 {
		t.Fatalf("second RecoverAll = %+v, want 0 enqueued, 2 recording", rep)
	}

	// A letter left spooled (its assembly task lost with Redis): recover
	// queues the run's print assembly.
	assembly := fmt.Sprintf("assemble:%d", res.Run.ID)
	if _, err := insp.GetTaskInfo(queue.Maintenance, assembly); err == nil {
		t.Fatal("an assembly task is queued before any letter is spooled")
	}
	if _, err := st.Transition(ctx, rows[0].ID, []store.State{store.Planned}, store.Spooled, store.Change{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RecoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	if info, err := insp.GetTaskInfo(queue.Maintenance, assembly); err != nil || info.Type != queue.TypeAssemblePrint {
		t.Fatalf("no print assembly queued for the spooled letter: %v %v", info, err)
	}
}

// TestResumeTwoChannelStepKeepsOneRowPerContact: an expansion resumed
// after a crash keeps the channel an earlier expansion chose for a
// contact (here sms, though email comes first now): exactly one row per
// contact and step.
func TestResumeTwoChannelStepKeepsOneRowPerContact(t *testing.T) {
	ctx := context.Background()
	sp := repoWith(t, "resume2", 40)
	dbPath := filepath.Join(t.TempDir(), "relais.db")
	st, err := sqlstore.OpenSQLite(ctx, dbPath)
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
	dying := &dyingQueue{c: client, limit: 10}
	p := &run.Planner{Store: st, Queue: dying, Policy: pol}
	if _, err := p.Start(ctx, sp, "k"); err == nil {
		t.Fatal("first expansion did not die")
	}
	r, err := st.FindRun(ctx, sp.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	// Pretend the first expansion chose sms for half of the contacts it
	// reached (they had no email address then): their rows move to sms.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	moved := 0
	for i, row := range first {
		if i%2 == 1 || row.Channel != "email" {
			continue
		}
		id := store.LedgerID(r.ID, row.StepID, row.ContactID, "sms")
		if _, err := db.ExecContext(ctx, "UPDATE ledger SET id = ?, channel = 'sms' WHERE id = ?", id, row.ID); err != nil {
			t.Fatal(err)
		}
		moved++
	}
	db.Close()
	p.Queue = client
	res, err := p.Start(ctx, sp, "k")
	if err != nil {
		t.Fatalf("resumed expansion: %v", err)
	}
	all, err := st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	per := map[int64]int{}
	sms := 0
	for _, row := range all {
		per[row.ContactID]++
		if row.Channel == "sms" {
			sms++
		}
	}
	for c, n := range per {
		if n != 1 {
			t.Fatalf("contact %d has %d rows for step s1, want 1", c, n)
		}
	}
	if moved == 0 || len(all) != len(first) || sms != moved || res.Planned+res.Refused != len(all) {
		t.Fatalf("%d rows (want %d), %d sms rows (want %d), planned+refused %d", len(all), len(first), sms, moved, res.Planned+res.Refused)
	}
}

// TestStartAttachesToALeasedExpansion: while another process holds the
// expansion lease of a run, a second start of the same run key attaches
// (writes and queues nothing); once the lease is released, a start
// expands the run.
func TestStartAttachesToALeasedExpansion(t *testing.T) {
	ctx := context.Background()
	sp := resumeRepo(t, 30)
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
	rdb := queue.Client(opt)
	defer rdb.Close()
	pol, err := policy.New(policy.DefaultRules(), st, []byte("run-test-secret-0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lock := queue.ExpandLock{C: rdb}
	// The first process created the run and holds its lease.
	r, _, err := st.CreateRun(ctx, store.Run{CampaignID: sp.ID, RunKey: "k", ContentHash: sp.ContentHash, State: store.RunExpanding})
	if err != nil {
		t.Fatal(err)
	}
	release, ok, err := lock.Acquire(ctx, r.ID)
	if err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	p := &run.Planner{Store: st, Queue: client, Policy: pol, Lock: lock}
	res, err := p.Start(ctx, sp, "k")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Attached || res.Run.ID != r.ID || res.Planned != 0 || res.Enqueued != 0 || len(rows) != 0 {
		t.Fatalf("second start = attached %v run %d planned %d enqueued %d, %d rows; want attached to run %d, nothing written",
			res.Attached, res.Run.ID, res.Planned, res.Enqueued, len(rows), r.ID)
	}
	release()
	res, err = p.Start(ctx, sp, "k")
	if err != nil {
		t.Fatal(err)
	}
	rows, err = st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attached || res.Planned+res.Refused != len(rows) || len(rows) != 30 {
		t.Fatalf("start after release = attached %v, planned %d refused %d, %d rows; want the 30 rows expanded", res.Attached, res.Planned, res.Refused, len(rows))
	}
}
