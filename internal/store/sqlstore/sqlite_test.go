package sqlstore_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

func open(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestOpenConcurrently opens one new file from several goroutines with
// separate Stores, as a CLI and `relais serve` starting together would:
// the migrations run once and every Store works.
func TestOpenConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relais.db")
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlstore.OpenSQLite(t.Context(), path) })
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

// TestReopen checks that data survives Close and that reopening an
// up-to-date database applies nothing twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relais.db")
	s, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := s.CreateRun(t.Context(), store.Run{CampaignID: "c", RunKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := open(t, path).GetRun(t.Context(), r.ID)
	if err != nil || got.CampaignID != "c" {
		t.Errorf("after reopen: %+v, %v", got, err)
	}
}
