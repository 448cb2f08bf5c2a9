package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/storetest"
)

func TestEventsConformance(t *testing.T) {
	storetest.RunEvents(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "relais.db"))
	})
}

func BenchmarkRecordEvents(b *testing.B) {
	storetest.BenchRecordEvents(b, open(b, filepath.Join(b.TempDir(), "bench.db")))
}
