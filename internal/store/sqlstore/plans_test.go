package sqlstore

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
)

// TestPostgresCapLookupProbesEachContact plans the batched frequency-cap
// lookup on a ledger just filled and never analyzed, as after a run's
// expansion: it reads each contact's rows through ledger_contact, not the
// whole ledger, whatever the planner guesses of the table.
func TestPostgresCapLookupProbesEachContact(t *testing.T) {
	url := testenv.PostgresURL(t)
	ctx := t.Context()
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, _, err := s.CreateRun(ctx, store.Run{CampaignID: "c", RunKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	rows := make([]store.LedgerRow, n)
	for i := range rows {
		cid := int64(i + 1)
		rows[i] = store.LedgerRow{ID: store.LedgerID(r.ID, "s", cid, "email"), RunID: r.ID, CampaignID: "c", StepID: "s",
			ContactID: cid, Channel: "email", Purpose: "marketing", State: store.Accepted}
	}
	for i := 0; i < n; i += 1000 {
		if _, err := s.InsertLedger(ctx, rows[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(i*157 + 1)
	}
	q := s.d.sql["marketingSentMany"]
	if q == "" {
		t.Fatal("no PostgreSQL form of the cap lookup")
	}
	var plan strings.Builder
	err = s.queryR(ctx, "EXPLAIN "+q, []any{s.d.t(time.Now().Add(-7 * 24 * time.Hour)), ids}, func(r *sql.Rows) error {
		var line string
		err := r.Scan(&line)
		plan.WriteString(line + "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := plan.String(); strings.Contains(p, "Seq Scan on ledger") || !strings.Contains(p, "ledger_contact") {
		t.Errorf("the cap lookup does not probe ledger_contact per contact:\n%s", p)
	}
	got, err := s.MarketingSentSinceMany(ctx, ids, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) || got[ids[0]] != 1 || got[ids[99]] != 1 {
		t.Errorf("counts of %d contacts (first %d, last %d), want %d contacts with 1 each", len(got), got[ids[0]], got[ids[99]], len(ids))
	}
}
