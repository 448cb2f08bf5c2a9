//go:build !unix

package audience

// allocSlots returns n zeroed slots on the Go heap.
func allocSlots(n int) []uint64 { return make([]uint64, n) }

// freeSlots leaves s to the garbage collector.
func freeSlots([]uint64) {}
