package tracking

import (
	"crypto/sha256"
	"strings"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
// read off paper and typed by hand survives the usual confusions.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ResponseCodeLen is the length of a response code: 10 characters, 50
// bits, so that a 1,000,000-letter mailing has a collision chance below
// 1/2000 (8 characters would make one likely) while a code stays typeable.
const ResponseCodeLen = 10

// ResponseCode returns the response code of a send: printed on the reply
// coupon and used in the personal URL /r/<code>. It is HMAC(ledger id)
// under a key derived from the signer's current key, so it cannot be
// guessed from a neighbour's code, and it is the same for the same ledger
// row (a retried send prints the same code). It changes when the current
// key rotates, so the code → ledger mapping must be stored at send time
// (the ResponseSink looks codes up there).
func (s *Signer) ResponseCode(ledgerID string) string {
	var b [sha256.Size]byte
	sum := s.resp.Sum(b[:0], []byte(ledgerID))
	var out [ResponseCodeLen]byte
	var acc uint64
	for i := 0; i < 8; i++ {
		acc = acc<<8 | uint64(sum[i])
	}
	for i := range out {
		out[i] = crockford[(acc>>(64-5*(i+1)))&31]
	}
	return string(out[:])
}

// NormalizeCode turns a code as typed or scanned (lower case, hyphens,
// spaces, O for 0, I or L for 1) into its canonical form, and reports
// whether the result is a well-formed code.
func NormalizeCode(s string) (string, bool) {
	var b strings.Builder
	b.Grow(ResponseCodeLen)
	for _, r := range s {
		switch {
		case r == '-' || r == ' ':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(crockford, byte(r)) < 0 {
			return "", false
		}
		if b.Len() == ResponseCodeLen {
			return "", false
		}
		b.WriteByte(byte(r))
	}
	if b.Len() != ResponseCodeLen {
		return "", false
	}
	return b.String(), true
}
