package contact

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// memoSlots is the number of answers a memo keeps.
const memoSlots = 4096

// memo keeps the last answers of a pure function of a string, one per
// slot of the string's hash (a newer string takes the slot), without a
// lock: a checked address is checked again by the policy, the channel and
// the provider request of the same send.
type memo[V any] struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoAnswer[V]]
}

type memoAnswer[V any] struct {
	key string
	v   V
}

func newMemo[V any]() *memo[V] { return &memo[V]{seed: maphash.MakeSeed()} }

// get returns f(key), from the memo when it has the answer.
func (m *memo[V]) get(key string, f func(string) V) V {
	slot := &m.slots[maphash.String(m.seed, key)&(memoSlots-1)]
	if a := slot.Load(); a != nil && a.key == key {
		return a.v
	}
	v := f(key)
	slot.Store(&memoAnswer[V]{key: strings.Clone(key), v: v}) // not key: it may share a large buffer
	return v
}
