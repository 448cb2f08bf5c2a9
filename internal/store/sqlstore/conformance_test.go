package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/store/storetest"
	"github.com/relais-dev/relais/internal/testenv"
)

// backends opens a fresh store of each kind: a SQLite file in a temporary
// directory and a throw-away PostgreSQL database.
var backends = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", func(t testing.TB) store.Store { return open(t, filepath.Join(t.TempDir(), "sub", "relais.db")) }},
	{"postgres", func(t testing.TB) store.Store { return openPG(t) }},
}

func openPG(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(t.Context(), testenv.PostgresURL(t))
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// each runs suite on every backend.
func each(t *testing.T, suite func(*testing.T, storetest.Opener)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			suite(t, func(t *testing.T) store.Store { return b.open(t) })
		})
	}
}

func TestConformance(t *testing.T)          { each(t, storetest.Run) }
func TestAPIConformance(t *testing.T)       { each(t, storetest.RunAPI) }
func TestEventsConformance(t *testing.T)    { each(t, storetest.RunEvents) }
func TestPhoneConformance(t *testing.T)     { each(t, storetest.RunPhone) }
func TestRightsConformance(t *testing.T)    { each(t, storetest.RunRights) }
func TestApprovalsConformance(t *testing.T) { each(t, storetest.RunApprovals) }

func TestResponseCodes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storetest.RunResponses(t, b.open(t)) })
	}
}

func bench(b *testing.B, fn func(*testing.B, store.Store)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { fn(b, be.open(b)) })
	}
}

func BenchmarkUpsertContacts(b *testing.B) { bench(b, storetest.BenchUpsertContacts) }
func BenchmarkInsertLedger(b *testing.B)   { bench(b, storetest.BenchInsertLedger) }
func BenchmarkTransition(b *testing.B)     { bench(b, storetest.BenchTransition) }
func BenchmarkRecordEvents(b *testing.B)   { bench(b, storetest.BenchRecordEvents) }
