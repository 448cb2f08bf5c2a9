package audience

// seenSet is the set of dedupe keys (64-bit hashes) one pass has admitted:
// open addressing with linear probing in a power-of-two table, at most
// three quarters full, 8 bytes a slot. A Go map of the same keys took
// ~36 bytes a key, which made the pass the one part of an expansion whose
// memory grew with the audience (36 MB at 1,000,000 people; 16 MB here).
//
// The table lives outside the Go heap where the system allows it
// (allocSlots): it holds no pointers, and on the heap its 16 MB at
// 1,000,000 people would also raise the garbage collector's goal by as
// much again. free gives it back; a pass frees its set when it ends.
type seenSet struct {
	slots []uint64 // 0 is empty; key 0 is kept in zero
	n     int
	zero  bool
	// mapped: slots come from a memory mapping (allocSlots), to unmap.
	mapped bool
}

// add inserts h and reports whether it was new.
func (s *seenSet) add(h uint64) bool {
	if h == 0 {
		added := !s.zero
		s.zero = true
		return added
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			return true
		}
	}
}

func (s *seenSet) grow() {
	old, oldMapped := s.slots, s.mapped
	size := max(1024, 2*len(old))
	s.slots, s.mapped = allocSlots(size)
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
	if oldMapped {
		unmapSlots(old)
	}
}

// free releases the table; the set is empty afterwards.
func (s *seenSet) free() {
	if s.mapped {
		unmapSlots(s.slots)
	}
	*s = seenSet{}
}
