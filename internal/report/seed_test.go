package report_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
)

// backend is a store with what reports read and what the seed writes.
type backend interface {
	store.Store
	store.EventStore
	store.ReportStore
}

// backends lists both store implementations; PostgreSQL skips (or fails
// under RELAIS_REQUIRE_SERVICES=1) when no server is reachable.
var backends = []struct {
	name string
	open func(t *testing.T) backend
}{
	{"sqlite", func(t *testing.T) backend {
		t.Helper()
		s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "relais.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) backend {
		t.Helper()
		s, err := sqlstore.OpenPostgres(t.Context(), testenv.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// costs are the example campaign's unit costs.
var costs = campaign.Cost{Currency: "EUR", PerUnit: map[string]float64{"email": 0.001, "sms": 0.065, "mms": 0.20, "print": 0.70}}

var (
	hour9  = time.Date(2027, 3, 20, 9, 10, 0, 0, time.UTC)
	hour10 = time.Date(2027, 3, 20, 10, 15, 0, 0, time.UTC)
	hour11 = time.Date(2027, 3, 20, 11, 5, 0, 0, time.UTC)
)

// seeded names the ledger rows the seed created, by role.
type seeded struct {
	runA, runB int64
	ids        map[string]string
}

// seed writes the campaign "printemps" described in report_test.go, plus
// another campaign whose rows must not leak into its report.
func seed(t *testing.T, s backend) seeded {
	t.Helper()
	ctx := t.Context()
	out := seeded{ids: map[string]string{}}
	newRun := func(campaignID, key string) int64 {
		r, _, err := s.CreateRun(ctx, store.Run{CampaignID: campaignID, RunKey: key, ContentHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	out.runA = newRun("printemps", "a")
	out.runB = newRun("printemps", "b")
	other := newRun("autre", "a")
	var rows []store.LedgerRow
	contact := int64(0)
	add := func(name string, run int64, campaignID, step, ch string, st store.State, reason string, segments int, at time.Time) {
		contact++
		id := store.LedgerID(run, step, contact, ch)
		if name != "" {
			out.ids[name] = id
		}
		rows = append(rows, store.LedgerRow{ID: id, RunID: run, CampaignID: campaignID, StepID: step,
			ContactID: contact, Channel: ch, Purpose: "marketing", State: st, Reason: reason,
			Segments: segments, CreatedAt: at.Add(-time.Minute), UpdatedAt: at})
	}
	// Run A, step annonce, email: 8 sent (6 accepted, 1 delivered, 1
	// bounced), 1 refused, 1 still planned.
	for i, name := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		_ = i
		add(name, out.runA, "printemps", "annonce", "email", store.Accepted, "", 0, hour9)
	}
	add("", out.runA, "printemps", "annonce", "email", store.Delivered, "", 0, hour9)
	add("", out.runA, "printemps", "annonce", "email", store.Bounced, "550", 0, hour9)
	add("", out.runA, "printemps", "annonce", "email", store.Refused, "no_consent", 0, hour9)
	add("", out.runA, "printemps", "annonce", "email", store.Planned, "", 0, hour9)
	// sms: 2 delivered (2 and 1 segments), 1 refused, 1 failed.
	add("s1", out.runA, "printemps", "annonce", "sms", store.Delivered, "", 2, hour9)
	add("", out.runA, "printemps", "annonce", "sms", store.Delivered, "", 1, hour9)
	add("", out.runA, "printemps", "annonce", "sms", store.Refused, "opted_out", 0, hour9)
	add("", out.runA, "printemps", "annonce", "sms", store.Failed, "21614", 0, hour9)
	// print: 3 letters.
	add("p1", out.runA, "printemps", "annonce", "print", store.Accepted, "", 0, hour9)
	add("", out.runA, "printemps", "annonce", "print", store.Accepted, "", 0, hour9)
	add("", out.runA, "printemps", "annonce", "print", store.Accepted, "", 0, hour9)
	// step relance, sms: 1 sent without a recorded segment count (bills
	// one), 1 held as ambiguous.
	add("", out.runA, "printemps", "relance", "sms", store.Accepted, "", 0, hour9)
	add("", out.runA, "printemps", "relance", "sms", store.Ambiguous, "", 0, hour9)
	// Run B: 2 emails an hour later.
	add("b1", out.runB, "printemps", "annonce", "email", store.Accepted, "", 0, hour10)
	add("", out.runB, "printemps", "annonce", "email", store.Accepted, "", 0, hour10)
	// Another campaign.
	add("x1", other, "autre", "annonce", "email", store.Accepted, "", 0, hour9)
	if _, err := s.InsertLedger(ctx, rows); err != nil {
		t.Fatal(err)
	}
	id := out.ids
	evs := []store.Event{
		{LedgerID: id["e1"], Type: store.EventOpened, At: hour9},
		{LedgerID: id["e1"], Type: store.EventOpened, At: hour9},
		{LedgerID: id["e1"], Type: store.EventOpened, At: hour9},
		{LedgerID: id["e1"], Type: store.EventOpened, Machine: true, At: hour9},
		{LedgerID: id["e2"], Type: store.EventOpened, At: hour9},
		{LedgerID: id["e3"], Type: store.EventOpened, Machine: true, At: hour9},
		{LedgerID: id["e1"], Type: store.EventClicked, URL: "https://dupont.example/a", At: hour9},
		{LedgerID: id["e1"], Type: store.EventClicked, URL: "https://dupont.example/b", At: hour9},
		{LedgerID: id["e2"], Type: store.EventClicked, Machine: true, URL: "https://dupont.example/a", At: hour9},
		{LedgerID: id["e4"], Type: store.EventUnsubscribed, DedupeKey: "unsubscribed:" + id["e4"], At: hour10},
		{LedgerID: id["e4"], Type: store.EventUnsubscribed, DedupeKey: "unsubscribed:" + id["e4"], At: hour10},
		{LedgerID: id["s1"], Type: store.EventReplied, Detail: "oui merci", At: hour11},
		{LedgerID: id["p1"], Type: store.EventResponded, At: hour11},
		{LedgerID: id["e1"], Type: store.EventConverted, Value: 120, Currency: "EUR", At: hour11},
		{LedgerID: id["e2"], Type: store.EventConverted, Value: 30.5, Currency: "EUR", At: hour11},
		{LedgerID: id["e2"], Type: store.EventConverted, Value: 10, Currency: "USD", At: hour11},
		{LedgerID: id["b1"], Type: store.EventOpened, At: hour10.Add(5 * time.Minute)},
		{LedgerID: id["x1"], Type: store.EventOpened, At: hour9},
		{LedgerID: id["x1"], Type: store.EventConverted, Value: 999, Currency: "EUR", At: hour9},
	}
	if _, err := s.RecordEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	return out
}
