//go:build unix

package audience

import (
	"syscall"
	"unsafe"
)

// allocSlots returns n zeroed slots in an anonymous private mapping,
// outside the Go heap (the kernel hands out zero pages on first touch),
// or on the heap when the mapping is refused.
func allocSlots(n int) []uint64 {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n)
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// freeSlots unmaps slots from allocSlots; heap slots are left to the
// garbage collector (Munmap refuses memory it did not map).
func freeSlots(s []uint64) {
	if len(s) == 0 {
		return
	}
	_ = syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8))
}
