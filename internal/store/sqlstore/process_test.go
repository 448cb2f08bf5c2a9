package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// helperEnv names the database a re-executed test binary works on.
const helperEnv = "RELAIS_SQLITE_HELPER_DB"

// writeWorkload inserts 10 batches of 200 ledger rows for worker w on
// run 1 and claims each row, as an expanding CLI and a serving worker do.
func writeWorkload(ctx context.Context, s *sqlstore.Store, w int) error {
	r, _, err := s.CreateRun(ctx, store.Run{CampaignID: "c", RunKey: "k"})
	if err != nil {
		return err
	}
	for b := range 10 {
		rows := make([]store.LedgerRow, 200)
		for i := range rows {
			rows[i] = store.LedgerRow{RunID: r.ID, CampaignID: "c", StepID: "w" + strconv.Itoa(w),
				ContactID: int64(b*200 + i + 1), Channel: "email"}
		}
		if _, err := s.InsertLedger(ctx, rows); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		for _, row := range rows {
			id := store.LedgerID(row.RunID, row.StepID, row.ContactID, row.Channel)
			if ok, err := s.Transition(ctx, id, []store.State{store.Planned}, store.Claimed, store.Change{}); err != nil || !ok {
				return fmt.Errorf("claim %s: moved %v: %w", id, ok, err)
			}
		}
	}
	return nil
}

// TestMain runs the other process of TestCrossProcess when started by it.
func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(helperProcess(path))
	}
	os.Exit(m.Run())
}

func helperProcess(path string) int {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper Open:", err)
		return 1
	}
	defer s.Close()
	if err := writeWorkload(ctx, s, 2); err != nil {
		fmt.Fprintln(os.Stderr, "helper workload:", err)
		return 1
	}
	return 0
}

// TestCrossProcess writes to one new file from this process and a second
// one at the same time (both also racing to migrate it): neither may see
// SQLITE_BUSY, and every row of both must be there.
func TestCrossProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	out := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	go func() { out <- cmd.Wait() }()
	s := open(t, path)
	if err := writeWorkload(t.Context(), s, 1); err != nil {
		t.Errorf("workload: %v", err)
	}
	if err := <-out; err != nil {
		t.Fatalf("helper process: %v: %s", err, output.String())
	}
	counts, err := s.CountLedger(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if counts["claimed"] != 4000 || len(counts) != 1 {
		t.Errorf("counts after both processes: %v, want 4000 claimed", counts)
	}
}
