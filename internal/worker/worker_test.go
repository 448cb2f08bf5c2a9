package worker_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/feedback"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/worker"
)

type fixture struct {
	st   *sqlstore.Store
	smtp *testenv.SMTPServer
	w    *worker.Worker
	sp   *campaign.Spec
	run  store.Run
	c    *contact.Contact
}

var secret = []byte("worker-test-secret-0123456789")

// setup stores one opted-in person and a run of campaign file name, with a
// worker sending through a real SMTP server.
func setup(t testing.TB, name string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return setupWith(t, name, st)
}

// setupWith is setup on store st.
func setupWith(t testing.TB, name string, st *sqlstore.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	sp, err := campaign.Load(filepath.Join("testdata", "repo", "campaigns", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(filepath.Join("testdata", "repo", "campaigns"))
	cat.Add(sp)
	yes := true
	c := &contact.Contact{ExternalID: "C1", FirstName: "Camille", Email: "camille@example.org", Consent: map[string]*bool{"email": &yes}}
	c.Normalize()
	if _, _, err := st.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
		t.Fatal(err)
	}
	run, _, err := st.CreateRun(ctx, store.Run{CampaignID: sp.ID, RunKey: "k", ContentHash: sp.ContentHash, State: store.RunSending})
	if err != nil {
		t.Fatal(err)
	}
	smtp := testenv.StartSMTP(t)
	cfg, err := email.ParseURL(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	es, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	reg := builtin.Channels()
	if err := reg.AddSender(emailch.Name, es); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(policy.DefaultRules(), st, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := &feedback.Feedback{Store: st, Secret: secret}
	w := &worker.Worker{Store: st, Campaigns: cat, Channels: reg, Policy: pol, Composer: compose.NewComposer(), OnPermanent: fb.SuppressOnFailure}
	return &fixture{st: st, smtp: smtp, w: w, sp: sp, run: run, c: c}
}

// row plans the contact's send in state s and returns its id.
func (f *fixture) row(t *testing.T, s store.State) string {
	t.Helper()
	id := store.LedgerID(f.run.ID, "s1", f.c.ID, emailch.Name)
	_, err := f.st.InsertLedger(context.Background(), []store.LedgerRow{{ID: id, RunID: f.run.ID, CampaignID: f.sp.ID,
		StepID: "s1", ContactID: f.c.ID, Channel: emailch.Name, Purpose: "marketing", State: s}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) handle(id string) error {
	return f.w.HandleSend(context.Background(), queue.NewSendTask(id, f.run.ID, "marketing", time.Time{}, 0))
}

func (f *fixture) state(t *testing.T, id string) store.LedgerRow {
	t.Helper()
	r, err := f.st.GetLedger(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHandleSend(t *testing.T) {
	tests := []struct {
		name       string
		campaign   string
		start      store.State
		prepare    func(t *testing.T, f *fixture)
		wantErr    string // "" none, "retry", "permanent"
		wantState  store.State
		wantSent   int
		wantWhy    string
		again      bool // handle a second time (asynq's retry)
		wantState2 store.State
		// wantSuppressed is the suppression reason the address must have.
		wantSuppressed string
	}{
		{name: "planned row is sent and accepted", campaign: "hello", start: store.Planned, wantState: store.Accepted, wantSent: 1},
		{name: "terminal row is left alone", campaign: "hello", start: store.Accepted, wantState: store.Accepted, wantSent: 0},
		{name: "4xx is retried and then sent", campaign: "hello", start: store.Planned,
			prepare: func(_ *testing.T, f *fixture) { f.smtp.FailNext(1, 451) },
			wantErr: "retry", wantState: store.Claimed, wantSent: 0, again: true, wantState2: store.Accepted},
		{name: "5xx at RCPT is a recorded hard bounce", campaign: "hello", start: store.Planned,
			prepare: func(_ *testing.T, f *fixture) { f.smtp.FailRecipient("camille@example.org", 550) },
			wantErr: "permanent", wantState: store.Failed, wantWhy: "hard_bounce", wantSuppressed: contact.SuppressHardBounce},
		{name: "a retry finding submitting holds it as ambiguous", campaign: "hello", start: store.Submitting,
			wantState: store.Ambiguous, wantSent: 0, wantWhy: "in_flight_at_failure"},
		{name: "on_ambiguous resend sends once more", campaign: "hello-resend", start: store.Submitting,
			wantState: store.Accepted, wantSent: 1},
		{name: "opt-out after planning refuses at send time", campaign: "hello", start: store.Planned,
			prepare: func(t *testing.T, f *fixture) {
				err := f.st.SetConsent(context.Background(), f.c.ID, "email", "marketing", contact.ConsentState{Status: contact.Refused, Source: "test"})
				if err != nil {
					t.Fatal(err)
				}
			},
			wantState: store.Refused, wantWhy: policy.ReasonOptedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.campaign)
			id := f.row(t, tt.start)
			if tt.prepare != nil {
				tt.prepare(t, f)
			}
			err := f.handle(id)
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("HandleSend: %v", err)
				}
			case "retry":
				if err == nil || errors.Is(err, asynq.SkipRetry) {
					t.Fatalf("error %v, want a retryable error", err)
				}
			case "permanent":
				if !errors.Is(err, asynq.SkipRetry) || !channel.IsPermanent(err) {
					t.Fatalf("error %v, want SkipRetry keeping the permanent cause", err)
				}
			}
			r := f.state(t, id)
			if r.State != tt.wantState || (tt.wantWhy != "" && r.Reason != tt.wantWhy) {
				t.Fatalf("state %s (%s), want %s (%s)", r.State, r.Reason, tt.wantState, tt.wantWhy)
			}
			if tt.again {
				if err := f.handle(id); err != nil {
					t.Fatalf("retry: %v", err)
				}
				if r = f.state(t, id); r.State != tt.wantState2 {
					t.Fatalf("after retry: %s, want %s", r.State, tt.wantState2)
				}
				tt.wantSent = 1
			}
			if tt.wantSuppressed != "" {
				ok, why, err := f.st.Suppressed(context.Background(), contact.SuppressionKey(secret, "email", "camille@example.org"))
				if err != nil || !ok || why != tt.wantSuppressed {
					t.Errorf("suppressed=%v (%s, %v), want %s", ok, why, err, tt.wantSuppressed)
				}
			}
			if got := f.smtp.Count(); got != tt.wantSent {
				t.Fatalf("SMTP received %d, want %d", got, tt.wantSent)
			}
			if r.State == store.Accepted && tt.wantSent > 0 {
				if r.ProviderID == "" || !strings.HasSuffix(r.ProviderID, "@dupont.example") {
					t.Errorf("provider id %q", r.ProviderID)
				}
				m := string(f.smtp.Messages()[0].Data)
				if !strings.Contains(m, "Bonjour Camille") {
					t.Errorf("message not personalized:\n%s", m)
				}
			}
		})
	}
}
