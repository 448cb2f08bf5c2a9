package contact

import (
	"fmt"
	"sync"
	"testing"
)

// NormalizeEmail answers as its parse every time, through its memo: for
// addresses valid and not, repeated, more of them than the memo has
// slots, from goroutines at once.
func TestNormalizeEmailAnswersAsItsParse(t *testing.T) {
	inputs := []string{"Jean.Dupont@Example.org", " jean@example.org ", "jean@example", "Jean <jean@example.org>",
		"", "jean@.example.org", "jean@example..org", "@example.org"}
	for i := range memoSlots {
		inputs = append(inputs, fmt.Sprintf("Client.%d@Example%d.FR", i, i%7), fmt.Sprintf("client%d@nodot", i))
	}
	type answer struct {
		norm string
		ok   bool
	}
	want := make([]answer, len(inputs))
	for i, s := range inputs {
		want[i].norm, want[i].ok = normalizeEmail(s)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for round := range 2 {
				for i := range inputs {
					j := (i*(2*g+1) + round) % len(inputs)
					if norm, ok := NormalizeEmail(inputs[j]); norm != want[j].norm || ok != want[j].ok {
						errs <- fmt.Sprintf("NormalizeEmail(%q) = %q, %v; want %q, %v", inputs[j], norm, ok, want[j].norm, want[j].ok)
						return
					}
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
