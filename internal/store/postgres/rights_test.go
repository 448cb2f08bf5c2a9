package postgres_test

import (
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/storetest"
)

func TestRightsConformance(t *testing.T) {
	storetest.RunRights(t, func(t *testing.T) store.Store { return open(t) })
}
