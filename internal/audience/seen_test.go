package audience

import (
	"math/rand/v2"
	"testing"
)

// seenSet says "new" exactly once per key, across its growths, for keys
// that collide in the table's low bits and for the key 0.
func TestSeenSetAddsEachKeyOnce(t *testing.T) {
	var s seenSet
	defer s.free()
	r := rand.New(rand.NewPCG(1, 2))
	keys := []uint64{0, 1, 1 << 40, 2 << 40, 3 << 40} // same low bits
	for range 100_000 {
		keys = append(keys, r.Uint64())
	}
	want := map[uint64]bool{}
	for round := range 2 {
		for _, k := range keys {
			got := s.add(k)
			if round == 0 && got == want[k] {
				t.Fatalf("add(%#x) = %v the first time", k, got)
			}
			if round == 1 && got {
				t.Fatalf("add(%#x) = true the second time", k)
			}
			want[k] = true
		}
	}
	if n := s.n + map[bool]int{true: 1}[s.zero]; n != len(want) {
		t.Errorf("%d keys held, want %d", n, len(want))
	}
}

// A freed set is empty and grows again; freeing heap slots (the fallback
// when the system refuses a mapping) is harmless.
func TestSeenSetFreeEmptiesIt(t *testing.T) {
	var s seenSet
	for k := range uint64(5000) {
		s.add(k)
	}
	s.free()
	if s.n != 0 || s.slots != nil || s.zero {
		t.Fatalf("freed set holds %d keys, %d slots", s.n, len(s.slots))
	}
	if !s.add(42) || s.add(42) {
		t.Fatal("a freed set does not admit a key exactly once")
	}
	s.free()
	// A set whose table is on the heap (the mapping was refused) is left
	// to the garbage collector: free only empties it.
	h := seenSet{slots: make([]uint64, 1024)}
	if !h.add(7) || h.add(7) {
		t.Fatal("a heap-backed set does not admit a key exactly once")
	}
	h.free()
	if h.slots != nil || h.n != 0 {
		t.Fatal("free left a heap-backed set non-empty")
	}
}
