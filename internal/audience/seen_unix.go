//go:build unix

package audience

import (
	"syscall"
	"unsafe"
)

// allocSlots returns n zeroed slots in an anonymous private mapping,
// outside the Go heap (the kernel hands out zero pages on first touch),
// or on the heap when the mapping is refused; mapped says which.
func allocSlots(n int) (slots []uint64, mapped bool) {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n), false
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), true
}

// unmapSlots releases slots that allocSlots mapped.
func unmapSlots(s []uint64) {
	_ = syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*8))
}
