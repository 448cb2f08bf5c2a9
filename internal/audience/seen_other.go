//go:build !unix

package audience

// allocSlots returns n zeroed slots on the Go heap.
func allocSlots(n int) (slots []uint64, mapped bool) { return make([]uint64, n), false }

// unmapSlots is never called: nothing is mapped here.
func unmapSlots([]uint64) {}
