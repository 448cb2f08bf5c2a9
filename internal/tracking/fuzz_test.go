package tracking

import (
	"strings"
	"testing"
)

// FuzzVerify: no input panics, and whatever verifies re-signs to a token
// that verifies to the same claims.
func FuzzVerify(f *testing.F) {
	s := newSigner(f, "a-secret-of-at-least-16-bytes")
	for _, p := range []Purpose{PurposeOpen, PurposeClick, PurposeUnsubscribe} {
		f.Add(s.Sign(sampleClaims(p)))
	}
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err != nil {
			return
		}
		again, err := s.Verify(s.Sign(c))
		if err != nil || again != c {
			t.Fatalf("re-signed claims %+v, %v; want %+v", again, err, c)
		}
	})
}

// FuzzRewrite: rewriting with a maker that declines everything leaves any
// input byte-exact, and every reported URL is http(s).
func FuzzRewrite(f *testing.F) {
	f.Add(`<html><body><a href="https://a.example">x</a></body></html>`)
	f.Add(`<A HREF=http://b.example>y`)
	f.Add(`<a href="mailto:x"><!-- <a href="http://c"> --><script><a href="http://d"></script>`)
	f.Fuzz(func(t *testing.T, src string) {
		if got, urls := Rewrite(src, func(string) string { return "" }); got != src || len(urls) != 0 {
			t.Fatalf("declining maker changed the input:\n%q\n%q", src, got)
		}
		_, urls := Rewrite(src, func(u string) string { return "https://t.example/c/x" })
		for _, u := range urls {
			if !isHTTP(u) || strings.TrimSpace(u) != u {
				t.Fatalf("reported %q", u)
			}
		}
	})
}
