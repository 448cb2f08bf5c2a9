package followup_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/followup"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/testenv"
)

const clientsCSV = `external_id;first_name;last_name;email;phone;city;kind;consent_email;consent_sms
F1;Camille;Durand;camille@example.org;06 12 34 56 78;Lyon;person;oui;oui
F2;Julien;Moreau;julien@example.org;06 23 45 67 89;Lyon;person;oui;oui
F3;Léa;Lefèvre;lea@example.net;07 11 22 33 44;Paris;person;oui;non
F4;Hugo;Bernard;hugo@example.com;06 98 76 54 32;Lyon;person;oui;oui
F5;Manon;Fournier;manon@example.org;06 55 44 33 22;Lyon;person;oui;oui
`

const twoSteps = `id: relance-test
name: Relance
purpose: marketing
audience: { source: file, file: audiences/clients.csv }
channels: [email]
sender: { email: "Maison Dupont <news@dupont.example>", sms: DUPONT }
steps:
  - id: annonce
    email: { subject: "Le printemps arrive", text: templates/t/email.txt }
  - id: relance
    after: 72h
    when: 'not opened("annonce") and city == "Lyon"'
    channels: [sms]
    sms: { text: templates/t/sms.txt }
  - id: merci
    after: 24h
    when: 'clicked("annonce")'
    channels: [email]
    email: { subject: "Merci", text: templates/t/email.txt }
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	st    store.Store
	sp    *campaign.Spec
	pl    *run.Planner
	fu    *followup.Scheduler
	insp  *asynq.Inspector
	clock *clock
}

func setup(t *testing.T) *fixture {
	t.Helper()
	_, redisURL := testenv.StartRedis(t)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "audiences", "clients.csv"), clientsCSV)
	writeFile(t, filepath.Join(root, "templates", "t", "email.txt"), "Bonjour {{.Contact.FirstName}}\nSe désinscrire : {{.Links.Unsubscribe}}\n")
	writeFile(t, filepath.Join(root, "templates", "t", "sms.txt"), "Dupont: -15% jusqu'à dimanche. STOP au 36180\n")
	writeFile(t, filepath.Join(root, "campaigns", "relance.yaml"), twoSteps)
	sp, err := campaign.Load(filepath.Join(root, "campaigns", "relance.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := storeopen.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { insp.Close() })
	// A Tuesday at 10:00 in Paris: SMS quiet hours do not defer anything.
	clk := &clock{t: time.Date(2027, 4, 6, 8, 0, 0, 0, time.UTC)}
	eng, err := policy.New(policy.DefaultRules(), st.(policy.Lookup), []byte("test-secret-0123456789abcdef"), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := catalog.New(filepath.Join(root, "campaigns"))
	cat.Add(sp)
	pl := &run.Planner{Store: st, Queue: client, Policy: eng, Log: log, Now: clk.Now}
	fu := &followup.Scheduler{Store: st, Campaigns: cat, Planner: pl, Events: st.(store.EventStore), Queue: client, Log: log, Now: clk.Now}
	return &fixture{st: st, sp: sp, pl: pl, fu: fu, insp: insp, clock: clk}
}

// accept moves a planned row to accepted as a worker does after the
// provider accepted it.
func (f *fixture) accept(t *testing.T, row store.LedgerRow) store.LedgerRow {
	t.Helper()
	ctx := context.Background()
	for _, to := range []store.State{store.Claimed, store.Submitting, store.Accepted} {
		from := map[store.State]store.State{store.Claimed: store.Planned, store.Submitting: store.Claimed, store.Accepted: store.Submitting}[to]
		ok, err := f.st.Transition(ctx, row.ID, []store.State{from}, to, store.Change{ProviderID: "p-" + row.ID[:8]})
		if err != nil || !ok {
			t.Fatalf("transition %s → %s: %v %v", from, to, ok, err)
		}
	}
	got, err := f.st.GetLedger(ctx, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) rows(t *testing.T, runID int64, step string) map[int64]store.LedgerRow {
	t.Helper()
	all, err := f.st.ListLedger(context.Background(), store.LedgerFilter{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]store.LedgerRow{}
	for _, r := range all {
		if r.StepID == step {
			out[r.ContactID] = r
		}
	}
	return out
}

// due runs every follow-up task of step on the queue now, as the worker
// would when it falls due, and returns how many ran.
func (f *fixture) due(t *testing.T, step string) int {
	t.Helper()
	tasks, err := f.insp.ListScheduledTasks(queue.Marketing, asynq.PageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ti := range tasks {
		if ti.Type != followup.TypeFollowup {
			continue
		}
		var p followup.Payload
		mustJSON(t, ti.Payload, &p)
		if p.StepID != step {
			continue
		}
		if err := f.fu.HandleFollowup(context.Background(), asynq.NewTask(ti.Type, ti.Payload)); err != nil {
			t.Fatalf("HandleFollowup: %v", err)
		}
		if err := f.insp.DeleteTask(queue.Marketing, ti.ID); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestFollowupSteps runs the two-step campaign of the acceptance
// criteria at the level of the follow-up scheduler: after the e-mail is
// accepted, the SMS reminder is scheduled 72h later for every recipient,
// and when it falls due it is planned exactly for the non-openers in
// Lyon, with the policy still applied (F3 has no SMS consent but lives in
// Paris; F5 responded, so gets nothing more); a machine open does not
// count as an open. The third step goes to whoever clicked.
func TestFollowupSteps(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	res, err := f.pl.Start(ctx, f.sp, "k1")
	if err != nil {
		t.Fatal(err)
	}
	annonce := f.rows(t, res.Run.ID, "annonce")
	if len(annonce) != 5 {
		t.Fatalf("%d annonce rows, want 5", len(annonce))
	}
	ext := map[int64]string{}
	byExt := map[string]store.LedgerRow{}
	for id, r := range annonce {
		c, err := f.st.GetContact(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ext[id] = c.ExternalID
		byExt[c.ExternalID] = f.accept(t, r)
		if err := f.fu.OnAccepted(ctx, byExt[c.ExternalID]); err != nil {
			t.Fatalf("OnAccepted: %v", err)
		}
		// A retried hook schedules nothing more.
		if err := f.fu.OnAccepted(ctx, byExt[c.ExternalID]); err != nil {
			t.Fatalf("OnAccepted again: %v", err)
		}
	}
	tasks, err := f.insp.ListScheduledTasks(queue.Marketing)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 5 {
		t.Fatalf("%d scheduled follow-ups, want 5", len(tasks))
	}
	for _, ti := range tasks {
		var p followup.Payload
		mustJSON(t, ti.Payload, &p)
		if ti.ID != followup.TaskID(res.Run.ID, "relance", p.ContactID) || p.StepID != "relance" {
			t.Errorf("task %s payload %+v", ti.ID, p)
		}
		if want := f.clock.Now().Add(72 * time.Hour); !ti.NextProcessAt.Equal(want) {
			t.Errorf("follow-up due %s, want %s", ti.NextProcessAt, want)
		}
	}

	ev := func(extID, typ string, machine bool) store.Event {
		r := byExt[extID]
		return store.Event{LedgerID: r.ID, Type: typ, Machine: machine, At: f.clock.Now(), DedupeKey: extID + typ}
	}
	if _, err := f.st.(store.EventStore).RecordEvents(ctx, []store.Event{
		ev("F1", store.EventOpened, false),
		ev("F1", store.EventClicked, false),
		ev("F2", store.EventOpened, true), // a privacy proxy, not Julien
		ev("F5", store.EventResponded, false),
	}); err != nil {
		t.Fatal(err)
	}

	f.clock.Add(72 * time.Hour)
	if n := f.due(t, "relance"); n != 5 {
		t.Fatalf("%d relance tasks ran, want 5", n)
	}
	relance := f.rows(t, res.Run.ID, "relance")
	got := map[string]string{}
	for id, r := range relance {
		got[ext[id]] = r.Channel + ":" + string(r.State)
	}
	want := map[string]string{"F2": "sms:planned", "F4": "sms:planned"}
	if len(got) != len(want) || got["F2"] != want["F2"] || got["F4"] != want["F4"] {
		t.Fatalf("relance rows %v, want %v", got, want)
	}
	pending, err := f.insp.ListPendingTasks(queue.Marketing, asynq.PageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]bool{}
	for _, ti := range pending {
		queued[ti.ID] = true
	}
	for _, r := range relance {
		if !queued[r.ID] {
			t.Errorf("relance %s not queued for sending", r.ID)
		}
	}

	// Replaying a due follow-up plans nothing twice.
	var p followup.Payload
	p.RunID, p.StepID = res.Run.ID, "relance"
	for id := range relance {
		p.ContactID = id
	}
	if err := f.fu.HandleFollowup(ctx, asynq.NewTask(followup.TypeFollowup, mustMarshal(t, p))); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rows(t, res.Run.ID, "relance")); n != 2 {
		t.Fatalf("replay made %d relance rows, want 2", n)
	}

	// The chain goes on: the SMS of F2 and F4 are accepted; the skipped
	// recipients (F1, F3) were passed on to "merci" when relance was
	// false for them. F5 responded: nothing.
	for _, r := range relance {
		if err := f.fu.OnAccepted(ctx, f.accept(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(24 * time.Hour)
	if n := f.due(t, "merci"); n != 4 {
		t.Fatalf("%d merci tasks ran, want 4 (all but the one who responded)", n)
	}
	var merci []string
	for id := range f.rows(t, res.Run.ID, "merci") {
		merci = append(merci, ext[id])
	}
	sort.Strings(merci)
	if len(merci) != 1 || merci[0] != "F1" {
		t.Fatalf("merci sent to %v, want only the one who clicked (F1)", merci)
	}
}
