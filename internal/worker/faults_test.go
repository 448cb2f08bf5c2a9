package worker_test

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/channel/builtin"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
)

// tasks records what the worker enqueues.
type tasks struct {
	mu sync.Mutex
	ts []*asynq.Task
}

func (q *tasks) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ts = append(q.ts, t)
	return &asynq.TaskInfo{}, nil
}

func (q *tasks) ofType(typ string) []*asynq.Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*asynq.Task
	for _, t := range q.ts {
		if t.Type() == typ {
			out = append(out, t)
		}
	}
	return out
}

func messageID(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header.Get("Message-Id")
}

// The relay keeps the message and drops the connection before its 250:
// the row is held as ambiguous and a retry of the task sends nothing.
func TestFaultLostReplyAfterData(t *testing.T) {
	f := setup(t, "hello")
	id := f.row(t, store.Planned)
	f.smtp.LoseReplyAfterData(1)
	if err := f.handle(id); err == nil {
		t.Fatal("HandleSend = nil, want the unknown outcome")
	}
	if got := f.state(t, id); got.State != store.Ambiguous || got.Reason != "no_answer_after_handover" {
		t.Fatalf("row = %s (%s), want ambiguous (no_answer_after_handover)", got.State, got.Reason)
	}
	_ = f.handle(id) // a redelivered task
	if got := f.state(t, id); got.State != store.Ambiguous {
		t.Fatalf("row after a retry = %s, want ambiguous", got.State)
	}
	if n := f.smtp.Count(); n != 1 {
		t.Fatalf("relay received %d messages, want 1", n)
	}
}

// Under on_ambiguous: resend, a lost reply gives one more attempt, and the
// resent message carries the same Message-ID.
func TestFaultLostReplyResendSameMessageID(t *testing.T) {
	f := setup(t, "hello-resend")
	id := f.row(t, store.Planned)
	f.smtp.LoseReplyAfterData(1)
	if err := f.handle(id); err == nil {
		t.Fatal("HandleSend = nil, want a retry")
	}
	if got := f.state(t, id); got.State != store.Claimed {
		t.Fatalf("row = %s, want claimed (resend once)", got.State)
	}
	if err := f.handle(id); err != nil {
		t.Fatalf("resend: %v", err)
	}
	got := f.state(t, id)
	if got.State != store.Accepted {
		t.Fatalf("row = %s, want accepted", got.State)
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("relay received %d messages, want 2", len(msgs))
	}
	a, b := messageID(t, msgs[0].Data), messageID(t, msgs[1].Data)
	if a == "" || a != b || a != "<"+got.ProviderID+">" {
		t.Fatalf("Message-IDs %q and %q (provider id %q), want the same", a, b, got.ProviderID)
	}
}

// A worker waiting for a pooled SMTP connection has not marked its row
// submitting: cancelled there (a stopped or killed worker), the row goes
// back to planned, never ambiguous.
func TestFaultWaitingForConnectionIsNotSubmitting(t *testing.T) {
	f := setup(t, "hello")
	single(t, f)
	first := f.row(t, store.Planned)
	id := f.otherRow(t)
	entered, release := f.smtp.HoldData()
	defer release()
	done := make(chan error, 1)
	go func() { done <- f.handle(first) }()
	<-entered // the pool's only connection is busy
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		waiting <- f.w.HandleSend(ctx, queue.NewSendTask(id, f.run.ID, "marketing", time.Time{}, 0))
	}()
	testenv.Eventually(t, 10*time.Second, func() bool { return f.state(t, id).State == store.Claimed })
	cancel()
	<-waiting
	// Planned when the cancel caught it waiting for the connection;
	// claimed when it caught it earlier (policy, rendering). Never
	// submitting: nothing was handed over.
	if got := f.state(t, id); got.State != store.Planned && got.State != store.Claimed {
		t.Fatalf("row waiting for a connection = %s after cancel, want planned or claimed", got.State)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := f.handle(id); err != nil {
		t.Fatal(err)
	}
	if n := f.smtp.Count(); n != 2 {
		t.Fatalf("relay received %d messages, want 2", n)
	}
}

// PostgreSQL becomes unreachable (a proxy in front of the throw-away
// database is cut) while the relay takes the message: the outcome is kept
// and recorded once the database is back, the message sent once.
func TestFaultStoreOutageWhileRecording(t *testing.T) {
	for _, viaTask := range []bool{false, true} {
		name := "retried"
		if viaTask {
			name = "record task"
		}
		t.Run(name, func(t *testing.T) {
			dbURL, proxy := testenv.ProxyURL(t, testenv.PostgresURL(t))
			st, err := sqlstore.OpenPostgres(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			f := setupWith(t, "hello", st)
			q := &tasks{}
			f.w.Queue = q
			if viaTask {
				f.w.RecordPatience = 300 * time.Millisecond
			}
			id := f.row(t, store.Planned)
			entered, release := f.smtp.HoldData()
			done := make(chan error, 1)
			go func() { done <- f.handle(id) }()
			<-entered
			proxy.Cut()
			release()
			if !f.smtp.WaitFor(1, 10*time.Second) {
				t.Fatal("relay did not take the message")
			}
			if viaTask {
				<-done // patience exhausted: the outcome is on the queue
				proxy.Restore()
				recs := q.ofType(queue.TypeRecord)
				if len(recs) != 1 {
					t.Fatalf("%d record tasks, want 1", len(recs))
				}
				if err := f.w.HandleRecord(context.Background(), recs[0]); err != nil {
					t.Fatal(err)
				}
			} else {
				proxy.Restore()
				if err := <-done; err != nil {
					t.Fatalf("HandleSend = %v, want nil once the store is back", err)
				}
			}
			got := f.state(t, id)
			if got.State != store.Accepted || got.ProviderID == "" {
				t.Fatalf("row = %s (provider id %q), want accepted with the provider id", got.State, got.ProviderID)
			}
			if n := f.smtp.Count(); n != 1 {
				t.Fatalf("relay received %d messages, want 1", n)
			}
		})
	}
}

// single gives the fixture's worker an SMTP sender with one connection.
func single(t *testing.T, f *fixture) {
	t.Helper()
	cfg, err := email.ParseURL(f.smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pool = 1
	es, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	reg := builtin.Channels()
	if err := reg.AddSender(emailch.Name, es); err != nil {
		t.Fatal(err)
	}
	f.w.Channels = reg
}

// otherRow plans a send to a second opted-in person.
func (f *fixture) otherRow(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	yes := true
	c := &contact.Contact{ExternalID: "C2", FirstName: "Dominique", Email: "dominique@example.org", Consent: map[string]*bool{"email": &yes}}
	c.Normalize()
	if _, _, err := f.st.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
		t.Fatal(err)
	}
	id := store.LedgerID(f.run.ID, "s1", c.ID, emailch.Name)
	_, err := f.st.InsertLedger(ctx, []store.LedgerRow{{ID: id, RunID: f.run.ID, CampaignID: f.sp.ID,
		StepID: "s1", ContactID: c.ID, Channel: emailch.Name, Purpose: "marketing", State: store.Planned}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A second task of a row that another worker is submitting right now (two
// runs attached to the same run, a recovery) neither sends nor holds the
// row as ambiguous: it looks again later.
func TestFaultConcurrentTaskOfALiveSubmission(t *testing.T) {
	f := setup(t, "hello")
	f.w.InFlightGrace = time.Minute
	id := f.row(t, store.Submitting)
	err := f.handle(id)
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("HandleSend = %v, want a retry later", err)
	}
	if got := f.state(t, id); got.State != store.Submitting {
		t.Fatalf("row = %s, want still submitting", got.State)
	}
	if n := f.smtp.Count(); n != 0 {
		t.Fatalf("relay received %d messages, want 0", n)
	}
}

// lostAnswerStore applies the first write that marks a row submitting and
// then reports an error, as a database connection cut before its answer.
type lostAnswerStore struct {
	store.Store
	lost bool
}

func (s *lostAnswerStore) Transition(ctx context.Context, id string, from []store.State, to store.State, c store.Change) (bool, error) {
	ok, err := s.Store.Transition(ctx, id, from, to, c)
	if err == nil && to == store.Submitting && !s.lost {
		s.lost = true
		return ok, errors.New("connection reset by peer")
	}
	return ok, err
}

// The store applies "submitting" but its answer is lost: nothing was
// handed over, so the row goes back to claimed (never left submitting,
// to be held as ambiguous later) and the retry sends it once.
func TestFaultSubmittingAnswerLost(t *testing.T) {
	f := setup(t, "hello")
	f.w.InFlightGrace = 0
	f.w.Store = &lostAnswerStore{Store: f.st}
	id := f.row(t, store.Planned)
	if err := f.handle(id); err == nil {
		t.Fatal("HandleSend = nil, want an error for a retry")
	}
	if got := f.state(t, id); got.State != store.Claimed {
		t.Fatalf("row = %s, want claimed (nothing was handed over)", got.State)
	}
	if n := f.smtp.Count(); n != 0 {
		t.Fatalf("relay received %d messages, want 0", n)
	}
	if err := f.handle(id); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := f.state(t, id); got.State != store.Accepted {
		t.Fatalf("row after the retry = %s, want accepted", got.State)
	}
	if n := f.smtp.Count(); n != 1 {
		t.Fatalf("relay received %d messages, want 1", n)
	}
}
