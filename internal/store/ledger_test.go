package store

import (
	"slices"
	"strings"
	"testing"
)

func TestLedgerStateTable(t *testing.T) {
	for _, s := range States {
		if got, want := s.Terminal(), !slices.Contains(NonTerminal, s); got != want {
			t.Errorf("%s.Terminal() = %v, want %v", s, got, want)
		}
	}
	for from, tos := range Transitions {
		if !slices.Contains(States, from) {
			t.Errorf("transition from unknown state %q", from)
		}
		for _, to := range tos {
			if !slices.Contains(States, to) || !CanMove(from, to) {
				t.Errorf("transition %s → %s: unknown state or not allowed", from, to)
			}
		}
	}
	// Every non-terminal row can still move, so no run waits forever.
	for _, s := range NonTerminal {
		if len(Transitions[s]) == 0 {
			t.Errorf("non-terminal %s has no way out", s)
		}
	}
	if CanMove(Delivered, Claimed) || CanMove(Refused, Claimed) {
		t.Error("a terminal row may be claimed again")
	}
	if got := Due(map[string]int{"planned": 1, "deferred": 5, "claimed": 2, "submitting": 3, "accepted": 7}); got != 6 {
		t.Errorf("Due = %d, want 6 (deferred and terminal rows excluded)", got)
	}
	if got := SQLList([]State{Accepted, Bounced}); got != "('accepted', 'bounced')" {
		t.Errorf("SQLList = %s", got)
	}
}

// Ledger ids are 32 hex digits, the same for the same key, distinct
// across steps and channels of one contact, and ordered by run then
// contact (an expansion appends to the id indexes); keys beyond 4 bytes
// of run or 6 of contact get the whole hash.
func TestLedgerIDOrderedByRunAndContact(t *testing.T) {
	id := LedgerID(7, "s1", 42, "email")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("LedgerID = %q, want 32 hex digits", id)
	}
	if id[:20] != "00000007"+"00000000002a" {
		t.Errorf("LedgerID = %s, want run 7 then contact 42 in its first 10 bytes", id)
	}
	if again := LedgerID(7, "s1", 42, "email"); again != id {
		t.Errorf("LedgerID not stable: %s then %s", id, again)
	}
	seen := map[string]bool{}
	for _, step := range []string{"s1", "s2"} {
		for _, ch := range []string{"email", "sms", "print"} {
			seen[LedgerID(7, step, 42, ch)] = true
		}
	}
	if len(seen) != 6 {
		t.Errorf("%d distinct ids for 2 steps × 3 channels, want 6", len(seen))
	}
	ordered := []string{LedgerID(7, "zz", 41, "sms"), LedgerID(7, "a", 42, "email"), LedgerID(7, "a", 1<<40, "email"), LedgerID(8, "a", 1, "email")}
	if !slices.IsSorted(ordered) {
		t.Errorf("ids not ordered by run then contact: %v", ordered)
	}
	for _, k := range []struct{ run, contact int64 }{{1 << 32, 1}, {1, 1 << 48}, {-1, 1}} {
		if got, want := LedgerID(k.run, "s", k.contact, "email"), LegacyLedgerID(k.run, "s", k.contact, "email"); got != want {
			t.Errorf("LedgerID(%d, %d) = %s, want the whole hash %s", k.run, k.contact, got, want)
		}
	}
}
