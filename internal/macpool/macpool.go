// Package macpool hands out HMAC-SHA256 states keyed with one key, so that
// a MAC costs a Reset of a keyed state rather than a new keyed hash (two
// compression blocks and a few allocations).
package macpool

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Pool is a pool of HMAC-SHA256 states keyed with one key; safe for
// concurrent use.
type Pool struct{ p sync.Pool }

// New returns a Pool keyed with key (not copied: it must not change).
func New(key []byte) *Pool {
	mp := &Pool{}
	mp.p.New = func() any { return hmac.New(sha256.New, key) }
	return mp
}

// Sum appends HMAC-SHA256(key, body) to dst.
func (mp *Pool) Sum(dst, body []byte) []byte {
	h := mp.p.Get().(hash.Hash)
	h.Write(body)
	dst = h.Sum(dst)
	h.Reset()
	mp.p.Put(h)
	return dst
}
