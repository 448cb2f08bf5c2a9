package macpool

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

// Sums from the pool, one after the other and from goroutines at once,
// equal crypto/hmac's for the same key and body, and append to dst.
func TestSumIsHMACSHA256(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	p := New(key)
	want := func(body []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(body)
		return m.Sum(nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				body := fmt.Appendf(nil, "body %d of %d", i, g)
				got := p.Sum([]byte("prefix"), body)
				if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want(body)) {
					errs <- fmt.Errorf("Sum(%q) = %x, want prefix then %x", body, got, want(body))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
