package worker_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
)

// people stores n more opted-in people (p0@example.org…) and plans a
// marketing email to each; it returns the rows' ids and the contacts.
func (f *fixture) people(t testing.TB, n int) ([]string, []*contact.Contact) {
	t.Helper()
	ctx := context.Background()
	yes := true
	cs := make([]*contact.Contact, n)
	for i := range cs {
		cs[i] = &contact.Contact{ExternalID: fmt.Sprint("P", i), FirstName: fmt.Sprint("Person", i),
			Email: fmt.Sprintf("p%d@example.org", i), Consent: map[string]*bool{"email": &yes}}
		cs[i].Normalize()
	}
	for i := 0; i < n; i += 1000 {
		if _, _, err := f.st.UpsertContacts(ctx, cs[i:min(i+1000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]string, n)
	rows := make([]store.LedgerRow, n)
	for i, c := range cs {
		ids[i] = store.LedgerID(f.run.ID, "s1", c.ID, emailch.Name)
		rows[i] = store.LedgerRow{ID: ids[i], RunID: f.run.ID, CampaignID: f.sp.ID, StepID: "s1", ContactID: c.ID,
			Channel: emailch.Name, Purpose: "marketing", State: store.Planned}
	}
	for i := 0; i < n; i += 1000 {
		if _, err := f.st.InsertLedger(ctx, rows[i:min(i+1000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	return ids, cs
}

// batch hands ids to HandleBatch as the aggregator would.
func (f *fixture) batch(ids []string) error {
	tasks := make([]*asynq.Task, len(ids))
	for i, id := range ids {
		tasks[i] = queue.NewSendTask(id, f.run.ID, "marketing", time.Time{}, 0)
	}
	return f.w.HandleBatch(context.Background(), queue.Aggregate("g", tasks))
}

// A batch in which one recipient hard-bounces at RCPT, one opted out
// after expansion (refused at send time) and the rest are accepted: each
// row ends in its own state with its own reason, the bounce suppresses
// its address, and nothing is retried.
func TestHandleBatchMixedOutcomes(t *testing.T) {
	f := setup(t, "hello")
	testMixedBatch(t, f)
}

// The same batch on PostgreSQL.
func TestHandleBatchMixedOutcomesPostgres(t *testing.T) {
	st, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testMixedBatch(t, setupWith(t, "hello", st))
}

func testMixedBatch(t *testing.T, f *fixture) {
	ctx := context.Background()
	q := &tasks{}
	f.w.Queue = q
	ids, cs := f.people(t, 6)
	f.smtp.FailRecipient("p1@example.org", 550)
	if err := f.st.SetConsent(ctx, cs[3].ID, "email", "marketing", contact.ConsentState{Status: contact.Refused, Source: "unsubscribe"}); err != nil {
		t.Fatal(err)
	}
	if err := f.batch(ids); err != nil {
		t.Fatalf("HandleBatch: %v", err)
	}
	for i, id := range ids {
		r := f.state(t, id)
		want, why := store.Accepted, ""
		switch i {
		case 1:
			want, why = store.Failed, "hard_bounce"
		case 3:
			want, why = store.Refused, policy.ReasonOptedOut
		}
		if r.State != want || r.Reason != why || r.Attempts != 1 {
			t.Errorf("row %d = %s (%q, %d attempts), want %s (%q, 1 attempt)", i, r.State, r.Reason, r.Attempts, want, why)
		}
		if want == store.Accepted && !strings.HasSuffix(r.ProviderID, "@dupont.example") {
			t.Errorf("row %d: provider id %q", i, r.ProviderID)
		}
		if want != store.Accepted && r.ProviderID != "" {
			t.Errorf("row %d: provider id %q on a row not accepted", i, r.ProviderID)
		}
	}
	if r := f.state(t, ids[3]); r.Error != "unsubscribe" {
		t.Errorf("refusal detail %q, want the consent's source", r.Error)
	}
	ok, why, err := f.st.Suppressed(ctx, contact.SuppressionKey(secret, "email", "p1@example.org"))
	if err != nil || !ok || why != contact.SuppressHardBounce {
		t.Errorf("bounced address suppressed=%v (%s, %v), want hard_bounce", ok, why, err)
	}
	if n := f.smtp.Count(); n != 4 {
		t.Errorf("relay received %d messages, want 4", n)
	}
	got := map[string]bool{}
	for _, m := range f.smtp.Messages() {
		got[strings.Join(m.To, ",")] = true
		if !strings.Contains(string(m.Data), "Bonjour Person") {
			t.Errorf("message not personalized:\n%s", m.Data)
		}
	}
	for _, i := range []int{0, 2, 4, 5} {
		if !got[fmt.Sprintf("p%d@example.org", i)] {
			t.Errorf("p%d@example.org got nothing (%v)", i, got)
		}
	}
	if n := len(q.ofType(queue.TypeSend)); n != 0 {
		t.Errorf("%d follow-up tasks, want 0", n)
	}
	// A redelivered batch (asynq's retry after a crash) sends nothing more.
	if err := f.batch(ids); err != nil {
		t.Fatalf("HandleBatch again: %v", err)
	}
	if n := f.smtp.Count(); n != 4 {
		t.Errorf("relay received %d messages after a redelivery, want 4", n)
	}
}

// A temporary refusal (4xx) of one recipient sends that row back to
// claimed with a follow-up single task of its own; the batch succeeds and
// the others are accepted.
func TestHandleBatchRetriesOneRecipientAlone(t *testing.T) {
	f := setup(t, "hello")
	q := &tasks{}
	f.w.Queue = q
	ids, _ := f.people(t, 4)
	f.smtp.FailRecipient("p2@example.org", 451)
	if err := f.batch(ids); err != nil {
		t.Fatalf("HandleBatch: %v", err)
	}
	for i, id := range ids {
		want := store.Accepted
		if i == 2 {
			want = store.Claimed
		}
		if r := f.state(t, id); r.State != want {
			t.Errorf("row %d = %s, want %s", i, r.State, want)
		}
	}
	fu := q.ofType(queue.TypeSend)
	if len(fu) != 1 {
		t.Fatalf("%d follow-up tasks, want 1", len(fu))
	}
	p, err := queue.ParseSend(fu[0])
	if err != nil || p.LedgerID != ids[2] {
		t.Fatalf("follow-up for %q (%v), want row 2", p.LedgerID, err)
	}
	f.smtp.FailRecipient("p2@example.org", 0)
	if err := f.w.HandleSend(context.Background(), fu[0]); err != nil {
		t.Fatalf("follow-up: %v", err)
	}
	if r := f.state(t, ids[2]); r.State != store.Accepted || r.Attempts != 2 {
		t.Errorf("row 2 after its follow-up = %s (%d attempts), want accepted after 2", r.State, r.Attempts)
	}
	if n := f.smtp.Count(); n != 4 {
		t.Errorf("relay received %d messages, want 4", n)
	}
}

// The relay keeps one message of a batch and drops the connection before
// its 250: that row alone is held as ambiguous, the others are accepted,
// and a redelivered batch sends nothing more.
func TestFaultBatchLostReplyAfterData(t *testing.T) {
	f := setup(t, "hello")
	single(t, f) // one connection: the lost reply is the first message's
	q := &tasks{}
	f.w.Queue = q
	ids, _ := f.people(t, 3)
	f.smtp.LoseReplyAfterData(1)
	if err := f.batch(ids); err != nil {
		t.Fatalf("HandleBatch: %v", err)
	}
	counts := map[store.State]int{}
	for _, id := range ids {
		r := f.state(t, id)
		counts[r.State]++
		if r.State == store.Ambiguous && r.Reason != "no_answer_after_handover" {
			t.Errorf("ambiguous row reason %q", r.Reason)
		}
	}
	if counts[store.Ambiguous] != 1 || counts[store.Accepted] != 2 {
		t.Fatalf("states %v, want 1 ambiguous and 2 accepted", counts)
	}
	if err := f.batch(ids); err != nil {
		t.Fatalf("HandleBatch again: %v", err)
	}
	if n := f.smtp.Count(); n != 3 {
		t.Fatalf("relay received %d messages, want 3", n)
	}
	if n := len(q.ofType(queue.TypeSend)); n != 0 {
		t.Errorf("%d follow-up tasks, want 0", n)
	}
}

// A batch meeting a row left submitting by a dead worker holds that row
// as ambiguous (the single path's rule) and sends the others.
func TestFaultBatchRowFoundSubmitting(t *testing.T) {
	f := setup(t, "hello")
	f.w.Queue = &tasks{}
	ids, _ := f.people(t, 3)
	if _, err := f.st.Transition(context.Background(), ids[0], []store.State{store.Planned}, store.Submitting, store.Change{}); err != nil {
		t.Fatal(err)
	}
	if err := f.batch(ids); err != nil && !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("HandleBatch: %v", err)
	}
	if r := f.state(t, ids[0]); r.State != store.Ambiguous || r.Reason != "in_flight_at_failure" {
		t.Errorf("row found submitting = %s (%s), want ambiguous (in_flight_at_failure)", r.State, r.Reason)
	}
	for _, id := range ids[1:] {
		if r := f.state(t, id); r.State != store.Accepted {
			t.Errorf("row = %s, want accepted", r.State)
		}
	}
	if n := f.smtp.Count(); n != 2 {
		t.Fatalf("relay received %d messages, want 2", n)
	}
}

// The queue runs as many batch tasks as the process's concurrency, but
// only batchesAhead of them claim their rows before their sends hold a
// slot: with one slot (three batches ahead) and the relay holding the
// first message, three batches of two rows are out of planned and the
// seven others wait for their turn without claiming anything; once the
// relay answers, every row is sent exactly once.
func TestBatchesClaimedAheadAreBounded(t *testing.T) {
	f := setup(t, "hello")
	f.w.SendParallelism = 1
	ids, _ := f.people(t, 20)
	entered, release := f.smtp.HoldData()
	defer release()
	errs := make(chan error, 10)
	for i := 0; i < 20; i += 2 {
		go func() { errs <- f.batch(ids[i : i+2]) }()
	}
	<-entered
	ctx := context.Background()
	waitingTurn := func() int {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "worker.(*Worker).aheadSlot(")
	}
	var counts map[string]int
	testenv.Eventually(t, 10*time.Second, func() bool {
		var err error
		if counts, err = f.st.CountLedger(ctx, f.run.ID); err != nil {
			t.Fatal(err)
		}
		return waitingTurn() == 7 && counts[string(store.Planned)] == 14
	})
	if counts[string(store.Submitting)] != 1 || counts[string(store.Claimed)] != 5 {
		t.Fatalf("ledger while the relay holds the first message = %v, want 1 submitting, 5 claimed, 14 planned", counts)
	}
	release()
	for range 10 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	counts, err := f.st.CountLedger(ctx, f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[string(store.Accepted)] != 20 || len(counts) != 1 || f.smtp.Count() != 20 {
		t.Fatalf("ledger %v, relay received %d; want 20 accepted and 20 received", counts, f.smtp.Count())
	}
}

// payloadReads counts the single-row payload reads of a store; with
// failBatch its batch read fails.
type payloadReads struct {
	*sqlstore.Store
	n         atomic.Int32
	failBatch bool
}

func (s *payloadReads) LedgerPayload(ctx context.Context, id string) (map[string]any, error) {
	s.n.Add(1)
	return s.Store.LedgerPayload(ctx, id)
}

func (s *payloadReads) LedgerPayloads(ctx context.Context, ids []string) (map[string]map[string]any, error) {
	if s.failBatch {
		return nil, errors.New("connection reset by peer")
	}
	return s.Store.LedgerPayloads(ctx, ids)
}

// A batch of transactional rows reads their data in one query: each
// message carries its own row's data (none for the row stored without),
// and no row reads its own.
func TestHandleBatchReadsPayloadsAtOnce(t *testing.T) {
	batchPayloads(t, false, 0)
}

// When the batch's read of the transactional data fails, each row reads
// its own: every message still carries its row's data.
func TestHandleBatchPayloadReadFallsBackToEachRow(t *testing.T) {
	batchPayloads(t, true, 3)
}

// batchPayloads sends a batch of three transactional rows (two with
// data, one without), the batch read failing when failBatch, and checks
// each message's subject and the number of single-row reads.
func batchPayloads(t *testing.T, failBatch bool, wantSingle int32) {
	t.Helper()
	f := setup(t, "order")
	st := &payloadReads{Store: f.st, failBatch: failBatch}
	f.w.Store = st
	ctx := context.Background()
	orders := []string{"A-1", "B-2", ""}
	var ids []string
	for i, order := range orders {
		c := &contact.Contact{ExternalID: fmt.Sprint("O", i), FirstName: fmt.Sprint("Client", i), Email: fmt.Sprintf("o%d@example.org", i)}
		c.Normalize()
		if _, _, err := f.st.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
			t.Fatal(err)
		}
		row := store.LedgerRow{ID: store.LedgerID(f.run.ID, "s1", c.ID, emailch.Name), RunID: f.run.ID, CampaignID: f.sp.ID,
			StepID: "s1", ContactID: c.ID, Channel: emailch.Name, Purpose: "transactional", State: store.Planned}
		var err error
		if order == "" {
			_, err = f.st.InsertLedger(ctx, []store.LedgerRow{row})
		} else {
			_, err = f.st.InsertLedgerPayload(ctx, []store.LedgerRow{row}, map[string]any{"order": order})
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row.ID)
	}
	if err := f.batch(ids); err != nil {
		t.Fatal(err)
	}
	subjects := map[string]string{}
	for _, m := range f.smtp.Messages() {
		for _, line := range strings.Split(string(m.Data), "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				subjects[m.To[0]] = s
			}
		}
	}
	want := map[string]string{"o0@example.org": "Commande A-1", "o1@example.org": "Commande B-2",
		"o2@example.org": "=?UTF-8?q?Commande_sans_donn=C3=A9es?="}
	if !reflect.DeepEqual(subjects, want) {
		t.Errorf("subjects = %v, want %v", subjects, want)
	}
	if n := st.n.Load(); n != wantSingle {
		t.Errorf("%d rows read their own payload, want %d", n, wantSingle)
	}
	for _, id := range ids {
		if got := f.state(t, id).State; got != store.Accepted {
			t.Errorf("row %s is %s, want accepted", id, got)
		}
	}
}
