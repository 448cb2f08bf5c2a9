package scheduler

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"

	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/rights"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

var retentionSecret = []byte("test-secret-0123456789abcdef")

// retentionScheduler returns a Scheduler on st with retention r and the
// clock now; no Redis is needed to register and run handlers.
func retentionScheduler(t *testing.T, st store.Store, r Retention, now func() time.Time) (*Scheduler, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "campaigns")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Deps{CampaignsDir: dir, Catalog: catalog.New(dir), Store: st, Planner: &run.Planner{Store: st, Log: log, Now: now},
		Log: log, Now: now, Retention: r, Secret: retentionSecret})
}

// TestRetentionJobOnSQLite runs the retention task through the mux the
// worker role uses, four years after three prospects were stored: the
// one who never reacted and the one who only opened (opens do not count:
// privacy proxies open everything) are erased, the one who clicked six
// months ago is kept, and the erased addresses stay suppressed.
func TestRetentionJobOnSQLite(t *testing.T) {
	st := openSQLite(t)
	ctx := context.Background()
	cs := []*contact.Contact{
		{ExternalID: "P-SILENT", Email: "silencieux@example.org", Kind: "person"},
		{ExternalID: "P-OPENED", Email: "ouvreur@example.org", Kind: "person"},
		{ExternalID: "P-ACTIVE", Email: "cliqueur@example.org", Kind: "person"},
	}
	for _, c := range cs {
		c.Normalize()
	}
	if _, _, err := st.UpsertContacts(ctx, cs); err != nil {
		t.Fatalf("UpsertContacts: %v", err)
	}
	later := time.Now().UTC().AddDate(4, 0, 0)
	r, _, err := st.CreateRun(ctx, store.Run{CampaignID: "printemps", RunKey: "k", ContentHash: "h", State: store.RunExpanding})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	var rows []store.LedgerRow
	for _, c := range cs {
		rows = append(rows, store.LedgerRow{ID: store.LedgerID(r.ID, "annonce", c.ID, "email"), RunID: r.ID, CampaignID: "printemps",
			StepID: "annonce", ContactID: c.ID, Channel: "email", Purpose: "marketing", State: store.Accepted})
	}
	if _, err := st.InsertLedger(ctx, rows); err != nil {
		t.Fatalf("InsertLedger: %v", err)
	}
	sixMonthsAgo := later.AddDate(0, -6, 0)
	if _, err := st.RecordEvents(ctx, []store.Event{
		{LedgerID: rows[1].ID, ContactID: cs[1].ID, Type: store.EventOpened, At: sixMonthsAgo},
		{LedgerID: rows[2].ID, ContactID: cs[2].ID, Type: store.EventClicked, At: sixMonthsAgo},
	}); err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}

	s, err := retentionScheduler(t, st, Retention{Enabled: true, OlderThan: rights.DefaultRetention}, func() time.Time { return later })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := asynq.NewServeMux()
	s.Register(mux)
	if err := mux.ProcessTask(ctx, asynq.NewTask(TypeRetention, nil)); err != nil {
		t.Fatalf("retention task: %v", err)
	}

	tests := []struct {
		name string
		ref  string
		kept bool
	}{
		{name: "never reacted: erased", ref: "silencieux@example.org"},
		{name: "opened only: erased", ref: "ouvreur@example.org"},
		{name: "clicked six months ago: kept", ref: "cliqueur@example.org", kept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			found, err := st.FindContacts(ctx, tc.ref)
			if err != nil {
				t.Fatalf("FindContacts: %v", err)
			}
			if got := len(found) == 1; got != tc.kept {
				t.Errorf("contact found = %v, want kept = %v", got, tc.kept)
			}
			key := contact.SuppressionKey(retentionSecret, contact.AddrEmail, tc.ref)
			suppressed, _, err := st.Suppressed(ctx, key)
			if err != nil {
				t.Fatalf("Suppressed: %v", err)
			}
			if suppressed == tc.kept {
				t.Errorf("address suppressed = %v after retention, want %v", suppressed, !tc.kept)
			}
		})
	}
	// Running the job again (a second serve process, a retry) erases
	// nothing more and does not fail.
	if err := mux.ProcessTask(ctx, asynq.NewTask(TypeRetention, nil)); err != nil {
		t.Fatalf("second retention task: %v", err)
	}
	if n, err := rights.Inactive(ctx, st, later, rights.DefaultRetention); err != nil || n != 0 {
		t.Errorf("inactive after retention = %d, %v; want 0", n, err)
	}
}

// TestRetentionDisabledErasesNothing checks that a retention task reaching
// a process whose configuration disables retention changes nothing.
func TestRetentionDisabledErasesNothing(t *testing.T) {
	st := openSQLite(t)
	ctx := context.Background()
	c := &contact.Contact{ExternalID: "P1", Email: "p1@example.org", Kind: "person"}
	c.Normalize()
	if _, _, err := st.UpsertContacts(ctx, []*contact.Contact{c}); err != nil {
		t.Fatalf("UpsertContacts: %v", err)
	}
	later := time.Now().UTC().AddDate(4, 0, 0)
	s, err := retentionScheduler(t, st, Retention{}, func() time.Time { return later })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.RetentionConfig() != nil {
		t.Errorf("disabled retention registered a periodic task")
	}
	if err := s.HandleRetention(ctx, asynq.NewTask(TypeRetention, nil)); err != nil {
		t.Fatalf("HandleRetention: %v", err)
	}
	if n, err := rights.Inactive(ctx, st, later, rights.DefaultRetention); err != nil || n != 1 {
		t.Errorf("inactive = %d, %v; want the contact still there (1)", n, err)
	}
}

func TestRetentionConfig(t *testing.T) {
	st := openSQLite(t)
	tests := []struct {
		name     string
		r        Retention
		wantSpec string
		wantErr  string
	}{
		{name: "default cron in Paris time", r: Retention{Enabled: true, OlderThan: rights.DefaultRetention},
			wantSpec: "CRON_TZ=Europe/Paris 30 3 * * *"},
		{name: "own cron", r: Retention{Enabled: true, OlderThan: time.Hour, Cron: "0 4 * * SUN"},
			wantSpec: "CRON_TZ=Europe/Paris 0 4 * * SUN"},
		{name: "own zone", r: Retention{Enabled: true, OlderThan: time.Hour, Cron: "CRON_TZ=UTC 0 2 * * *"},
			wantSpec: "CRON_TZ=UTC 0 2 * * *"},
		{name: "no period", r: Retention{Enabled: true}, wantErr: "retention period must be positive"},
		{name: "bad cron", r: Retention{Enabled: true, OlderThan: time.Hour, Cron: "30 3 * *"}, wantErr: "scheduler: retention: schedule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := retentionScheduler(t, st, tc.r, time.Now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c := s.RetentionConfig()
			if c == nil || c.Cronspec != tc.wantSpec || c.Task.Type() != TypeRetention {
				t.Fatalf("RetentionConfig = %+v, want cron %q", c, tc.wantSpec)
			}
			if _, err := cron.ParseStandard(c.Cronspec); err != nil {
				t.Errorf("asynq's cron parser refuses %q: %v", c.Cronspec, err)
			}
			all, err := provider{s}.GetConfigs()
			if err != nil || len(all) != 1 || all[0].Cronspec != c.Cronspec || all[0].Task.Type() != TypeRetention {
				t.Errorf("GetConfigs = %v, %v; want the retention task", all, err)
			}
			if q := queueOf(c.Opts); q != queue.Maintenance {
				t.Errorf("queue %q, want %q", q, queue.Maintenance)
			}
		})
	}
	t.Run("secret required", func(t *testing.T) {
		dir := t.TempDir()
		_, err := New(Deps{CampaignsDir: dir, Catalog: catalog.New(dir), Store: st, Planner: &run.Planner{Store: st},
			Retention: Retention{Enabled: true, OlderThan: time.Hour}})
		if err == nil || !strings.Contains(err.Error(), "secret") {
			t.Fatalf("New without secret: %v, want an error naming the secret", err)
		}
	})
}

// queueOf returns the queue an option list sets.
func queueOf(opts []asynq.Option) string {
	for _, o := range opts {
		if o.Type() == asynq.QueueOpt {
			return o.Value().(string)
		}
	}
	return ""
}
