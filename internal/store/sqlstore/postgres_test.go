package sqlstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
)

func TestOpenConcurrentlyPostgres(t *testing.T) {
	url := testenv.PostgresURL(t)
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlstore.OpenPostgres(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	for i, s := range stores {
		r, _, err := s.CreateRun(t.Context(), store.Run{CampaignID: "c", RunKey: "k"})
		if err != nil {
			t.Fatalf("store #%d CreateRun: %v", i, err)
		}
		if r.ID != 1 {
			t.Errorf("store #%d sees run %d, want the shared run 1", i, r.ID)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"password in userinfo", "postgres://u:s3cret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"password in query", "postgres://u@h/db?password=s3cret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"no password", "postgres://u@h/db", "postgres://u@h/db"},
		{"key=value DSN hidden", "host=h password=s3cret", "(unparsable database URL)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sqlstore.Redact(tc.in); got != tc.want {
				t.Errorf("Redact = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	// Port 1 on loopback refuses at once: no server is contacted.
	_, err := sqlstore.OpenPostgres(t.Context(), "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1")
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

// TestLedgerStateMovesAreHeapOnly sends rows through the batched path's
// moves (claim, submitting, accepted) and reads PostgreSQL's counts of
// the ledger's updates: the moves that change only unindexed columns
// (state, attempts, updated_at) are heap-only (HOT) updates, which write
// no index entry; the acceptance sets provider_id, which is indexed.
func TestLedgerStateMovesAreHeapOnly(t *testing.T) {
	url := testenv.PostgresURL(t)
	ctx := t.Context()
	s, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := s.CreateRun(ctx, store.Run{CampaignID: "c", RunKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	rows := make([]store.LedgerRow, n)
	ids := make([]string, n)
	for i := range rows {
		cid := int64(i + 1)
		ids[i] = store.LedgerID(r.ID, "s", cid, "email")
		rows[i] = store.LedgerRow{ID: ids[i], RunID: r.ID, CampaignID: "c", StepID: "s",
			ContactID: cid, Channel: "email", Purpose: "marketing", State: store.Planned}
	}
	if _, err := s.InsertLedger(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if claimed, err := s.ClaimLedger(ctx, ids); err != nil || len(claimed) != n {
		t.Fatalf("ClaimLedger: %d rows, %v", len(claimed), err)
	}
	outs := make([]store.Outcome, n)
	for i, id := range ids {
		outs[i] = store.Outcome{ID: id}
	}
	if moved, err := s.Settle(ctx, []store.State{store.Claimed}, store.Submitting, outs); err != nil || len(moved) != n {
		t.Fatalf("Settle submitting: %d rows, %v", len(moved), err)
	}
	for i, id := range ids {
		outs[i] = store.Outcome{ID: id, Change: store.Change{ProviderID: "<" + id + "@relay>"}}
	}
	if moved, err := s.Settle(ctx, []store.State{store.Submitting}, store.Accepted, outs); err != nil || len(moved) != n {
		t.Fatalf("Settle accepted: %d rows, %v", len(moved), err)
	}
	// A backend reports its counts when its connection ends (or after
	// some idle time): close the store's connections first.
	s.Close()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Wait until all three moves of every row are counted.
	var upd, hot int64
	testenv.Eventually(t, 30*time.Second, func() bool {
		err := conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'ledger'`).Scan(&upd, &hot)
		if err != nil {
			t.Fatal(err)
		}
		return upd >= 3*n
	})
	if upd != 3*n || hot != 2*n {
		t.Errorf("ledger updates: %d, of which heap-only %d; want %d and %d (claim and submitting heap-only, acceptance not)", upd, hot, 3*n, 2*n)
	}
}
