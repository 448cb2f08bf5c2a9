package contact

import (
	"fmt"
	"sync"
	"testing"
)

// IsE164 gives the same answer as libphonenumber's check every time it is
// asked, through its memo: for known numbers, and for more numbers than
// the memo has slots (each slot taken over by others in between).
func TestIsE164AnswersAsLibphonenumber(t *testing.T) {
	known := map[string]bool{
		"+33612345678":      true,
		"+33 6 12 34 56 78": false, // not the canonical form
		"+330612345678":     false, // the trunk 0 is not part of E.164
		"+3361234567a":      false,
		"0612345678":        false,
		"+":                 false,
		"+14155552671":      true,
		"+3":                false,
	}
	for round := range 3 {
		for s, want := range known {
			if got := IsE164(s); got != want {
				t.Errorf("round %d: IsE164(%q) = %v, want %v", round, s, got, want)
			}
		}
	}
	var numbers []string
	for i := range 10_000 {
		numbers = append(numbers, fmt.Sprintf("+336%08d", i*7919%100_000_000), fmt.Sprintf("+3361%07d", i))
	}
	valid := 0
	for round := range 2 {
		for i := range numbers {
			s := numbers[(i*31+round)%len(numbers)]
			want := isE164(s)
			if got := IsE164(s); got != want {
				t.Fatalf("round %d: IsE164(%q) = %v, libphonenumber says %v", round, s, got, want)
			}
			if want && round == 0 {
				valid++
			}
		}
	}
	if valid == 0 {
		t.Fatal("no valid number among the generated ones: the test checks nothing")
	}
}

// Goroutines asking IsE164 at once about numbers that share the memo's
// slots each get libphonenumber's answer (run with -race: the slots are
// read and replaced without a lock).
func TestIsE164ConcurrentAnswers(t *testing.T) {
	var numbers []string
	var want []bool
	for i := range len(e164Memo) / 2 {
		for _, s := range []string{fmt.Sprintf("+336%08d", i*104729%100_000_000), fmt.Sprintf("+3306%07d", i)} {
			numbers = append(numbers, s)
			want = append(want, isE164(s))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range numbers {
				j := (i*(2*g+1) + g) % len(numbers)
				if got := IsE164(numbers[j]); got != want[j] {
					select {
					case errs <- fmt.Sprintf("IsE164(%q) = %v, libphonenumber says %v", numbers[j], got, want[j]):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
