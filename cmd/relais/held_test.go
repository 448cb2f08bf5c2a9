package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// TestHeldListAndSettle: `relais held` lists the sends held as ambiguous
// and `relais held settle` closes them with who, when and why.
func TestHeldListAndSettle(t *testing.T) {
	dir := project(t)
	c := &cli{t: t, env: map[string]string{"USER": "alice"}}
	ctx := context.Background()
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	dbPath := filepath.Join(dir, "var", "relais.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ExecContext(ctx, "UPDATE ledger SET state = 'ambiguous', error = 'lost' WHERE state = 'accepted' AND channel = 'email'")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n, _ := res.RowsAffected(); n != 5 {
		t.Fatalf("%d rows made ambiguous, want 5", n)
	}
	var list struct {
		Held []held.Row `json:"held"`
	}
	decodeJSON(t, c.mustRun(ctx, "held", "1", "--json").stdout, &list)
	if len(list.Held) != 5 || list.Held[0].Contact == "" || list.Held[0].LastError != "lost" {
		t.Fatalf("held = %+v, want 5 rows with contact refs and the last error", list.Held)
	}
	if r := c.run(ctx, "held", "settle", "1", "--delivered", "--all"); r.code != 1 {
		t.Fatalf("settle without --note: exit %d, want 1", r.code)
	}
	one := list.Held[0].Ledger
	c.mustRun(ctx, "held", "settle", "1", "--failed", one, "--note", "bounce seen in the mailbox")
	var out struct {
		Settled int `json:"settled"`
	}
	decodeJSON(t, c.mustRun(ctx, "held", "settle", "1", "--delivered", "--all", "--note", "recipients confirmed", "--json").stdout, &out)
	if out.Settled != 4 {
		t.Fatalf("settled %d, want 4", out.Settled)
	}
	decodeJSON(t, c.mustRun(ctx, "held", "--json").stdout, &list)
	if len(list.Held) != 0 {
		t.Fatalf("%d still held, want 0", len(list.Held))
	}
	st, err := sqlstore.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row, err := st.GetLedger(ctx, one)
	if err != nil {
		t.Fatal(err)
	}
	if row.State != store.Failed || row.Reason != "settled_by_operator" {
		t.Fatalf("settled row = %s (%s)", row.State, row.Reason)
	}
	evs, err := st.ListEvents(ctx, store.EventFilter{LedgerID: one})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != "settled" {
		t.Fatalf("events %+v, want one settled event", evs)
	}
}
