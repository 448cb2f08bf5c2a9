package store

import (
	"slices"
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
