package contact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
)

// SuppressionKey is HMAC-SHA256(secret, channel NUL address) in hex, for
// any secret in any order (the pool of the last secret is kept), from
// goroutines at once; a key stored by an earlier version is found again.
func TestSuppressionKeyIsTheHMACOfTheAddress(t *testing.T) {
	want := func(secret, ch, addr string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ch + "\x00" + addr))
		return hex.EncodeToString(m.Sum(nil))
	}
	// The key of an address on every suppression list written so far.
	if got := SuppressionKey([]byte("s3cret"), AddrEmail, "jean@example.org"); got != "bc8fc04111c0cdb1778b0ee322f8aac782a7aecccb43e5347e7d8a5fc2c4a961" {
		t.Fatalf("SuppressionKey = %s, want the key stored by earlier versions", got)
	}
	secrets := []string{"first secret", "second secret", strings.Repeat("long ", 40)}
	addrs := []string{"jean@example.org", "+33612345678", "FR|75001|1 RUE DE RIVOLI", strings.Repeat("x", 300)}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				secret, addr := secrets[(i+g)%len(secrets)], addrs[i%len(addrs)]
				if got, w := SuppressionKey([]byte(secret), AddrPhone, addr), want(secret, AddrPhone, addr); got != w {
					errs <- "SuppressionKey(" + secret + ", " + addr + ") = " + got + ", want " + w
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
