package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/relais-dev/relais/internal/store"
)

// RunResponses checks the response-code store of s.
func RunResponses(t *testing.T, s store.Store) {
	t.Helper()
	rs, ok := s.(store.ResponseStore)
	if !ok {
		t.Fatalf("%T does not implement store.ResponseStore", s)
	}
	ctx := context.Background()
	if err := rs.SaveResponseCode(ctx, "ABCD2345XY", "ledger-1"); err != nil {
		t.Fatal(err)
	}
	if err := rs.SaveResponseCode(ctx, "ABCD2345XY", "ledger-1"); err != nil {
		t.Fatalf("saving the same code twice: %v", err)
	}
	if id, err := rs.LedgerByResponseCode(ctx, "ABCD2345XY"); err != nil || id != "ledger-1" {
		t.Fatalf("lookup: %q, %v", id, err)
	}
	if _, err := rs.LedgerByResponseCode(ctx, "ZZZZ"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown code: %v, want ErrNotFound", err)
	}
}
