package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/storetest"
)

func TestAPIConformance(t *testing.T) {
	storetest.RunAPI(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "relais.db"))
	})
}
