package postgres_test

import (
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/storetest"
)

func TestEventsConformance(t *testing.T) {
	storetest.RunEvents(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkRecordEvents(b *testing.B) { storetest.BenchRecordEvents(b, open(b)) }
