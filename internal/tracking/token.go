// Package tracking signs the opaque tokens of tracking links (open pixel,
// click redirect, unsubscribe, view in browser), rewrites the links of a
// rendered message, and serves the public HTTP endpoints those links point
// to, recording events in batches.
package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/relais-dev/relais/internal/macpool"
)

// Purpose says what a token may be used for; a token is only accepted by
// the endpoint of its own purpose, so an open token cannot unsubscribe.
type Purpose byte

// Token purposes. The numeric values are part of the wire format.
const (
	PurposeOpen        Purpose = 1
	PurposeClick       Purpose = 2
	PurposeUnsubscribe Purpose = 3
	PurposeView        Purpose = 4
	PurposePURL        Purpose = 5
)

// String returns the purpose's name (open, click, unsubscribe, view, purl).
func (p Purpose) String() string {
	switch p {
	case PurposeOpen:
		return "open"
	case PurposeClick:
		return "click"
	case PurposeUnsubscribe:
		return "unsubscribe"
	case PurposeView:
		return "view"
	case PurposePURL:
		return "purl"
	}
	return fmt.Sprintf("purpose(%d)", byte(p))
}

// Claims is what a token proves. It holds identifiers only, never an
// address, phone number or name, because tokens end up in proxy logs,
// browser histories and forwarded emails.
type Claims struct {
	Purpose  Purpose
	LedgerID string // send ledger row id (32 hex digits)
	RunID    int64
	// ContactID lets an unsubscribe act without reading the ledger.
	ContactID int64
	Campaign  string
	Step      string
	Channel   string
	// URL is the click destination (PurposeClick only).
	URL string
	// IssuedAt is set by Sign (seconds precision) when zero; it also
	// dates the send, which flags opens that come too soon after it.
	IssuedAt time.Time
}

// Token errors. Verify wraps one of them so handlers can pick a status.
var (
	// ErrMalformed: not a token at all (bad encoding, truncated).
	ErrMalformed = errors.New("tracking: malformed token")
	// ErrSignature: the signature does not match (tampered or forged).
	ErrSignature = errors.New("tracking: bad token signature")
	// ErrUnknownKey: signed with a key id this process does not hold.
	ErrUnknownKey = errors.New("tracking: unknown token key")
	// ErrExpired: older than the signer's TTL (never for unsubscribe).
	ErrExpired = errors.New("tracking: token expired")
	// ErrPurpose: a valid token presented to the endpoint of another purpose.
	ErrPurpose = errors.New("tracking: token of another purpose")
)

const (
	tokenVersion = 1
	// macLen is the truncated HMAC-SHA256 length: 128 bits is beyond
	// online forging and keeps links short.
	macLen = 16
	// maxKeyID bounds key ids so they stay a small part of every token.
	maxKeyID = 16
)

var b64 = base64.RawURLEncoding

// Signer signs and verifies tokens with a set of keys, one of them
// current; older keys keep verifying so that links already sent survive a
// rotation. A Signer is safe for concurrent use once built.
type Signer struct {
	keys    map[string][]byte
	macs    map[string]*macpool.Pool // by key id, as keys
	current string
	// TTL bounds the age of every token but unsubscribe ones (which never
	// expire: an opt-out link must keep working). Default 0: no expiry.
	TTL time.Duration
	// Now is the clock (tests move it). Default time.Now.
	Now func() time.Time
	// resp derives response codes: its key is fixed per current key.
	resp *macpool.Pool
}

// NewSigner returns a Signer for keys (key id → key) signing with keys[current].
// Key ids are written into every token, so keep them short (≤ 16 bytes).
// It fails when current is not in keys, a key is shorter than 16 bytes, or
// a key id is empty or too long.
func NewSigner(keys map[string][]byte, current string) (*Signer, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("tracking: current key id %q not among the keys", current)
	}
	cp := make(map[string][]byte, len(keys))
	for id, k := range keys {
		if id == "" || len(id) > maxKeyID {
			return nil, fmt.Errorf("tracking: key id %q must be 1 to %d bytes", id, maxKeyID)
		}
		if len(k) < 16 {
			return nil, fmt.Errorf("tracking: key %q is shorter than 16 bytes", id)
		}
		cp[id] = append([]byte(nil), k...)
	}
	macs := make(map[string]*macpool.Pool, len(cp))
	for id, k := range cp {
		macs[id] = macpool.New(k)
	}
	m := hmac.New(sha256.New, cp[current])
	m.Write([]byte("relais-response-code-v1"))
	return &Signer{keys: cp, macs: macs, current: current, resp: macpool.New(m.Sum(nil))}, nil
}

// DeriveKey turns the configuration secret (RELAIS_SECRET) into a token
// key, HMAC-SHA256(secret, "relais-tracking-v1"), so that the same secret
// used for suppression hashes never signs tokens directly.
func DeriveKey(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("relais-tracking-v1"))
	return m.Sum(nil)
}

// KeyID names a key by a fingerprint (4 hex digits of SHA-256 of the
// key), so rotation needs no configured ids: the old secret's tokens carry
// the old fingerprint.
func KeyID(key []byte) string {
	s := sha256.Sum256(key)
	return hex.EncodeToString(s[:2])
}

// SignerFromSecrets builds a Signer from the current configuration secret
// and the previous ones still accepted (newest first). Errors are those of
// NewSigner, plus an empty current secret or two secrets with the same
// fingerprint.
func SignerFromSecrets(current string, previous ...string) (*Signer, error) {
	if current == "" {
		return nil, errors.New("tracking: empty secret")
	}
	keys := map[string][]byte{}
	k := DeriveKey(current)
	cur := KeyID(k)
	keys[cur] = k
	for _, p := range previous {
		pk := DeriveKey(p)
		id := KeyID(pk)
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("tracking: two secrets share key id %s", id)
		}
		keys[id] = pk
	}
	return NewSigner(keys, cur)
}

// KeyIDs returns the key ids the signer accepts, sorted.
func (s *Signer) KeyIDs() []string {
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Sign returns the token of c, base64url without padding. The payload is
// binary: version, key id, purpose, ledger id (16 raw bytes when it is 32
// hex digits), run, contact, campaign, step, channel, issue time, URL,
// then the first 16 bytes of HMAC-SHA256 over all of it.
func (s *Signer) Sign(c Claims) string {
	var b [256]byte
	return string(s.appendToken(b[:0], c))
}

// appendToken appends the token of c (see Sign) to dst.
func (s *Signer) appendToken(dst []byte, c Claims) []byte {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	var stack [192]byte
	buf := stack[:0]
	if n := 96 + len(c.Campaign) + len(c.Step) + len(c.URL); n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, tokenVersion, byte(len(s.current)))
	buf = append(buf, s.current...)
	buf = append(buf, byte(c.Purpose))
	if isLedgerHex(c.LedgerID) {
		// 32 lower-case hex digits travel as their 16 bytes.
		buf = append(buf, 0)
		var raw [16]byte
		_, _ = hex.Decode(raw[:], []byte(c.LedgerID))
		buf = append(buf, raw[:]...)
	} else {
		buf = append(buf, 1)
		buf = appendString(buf, c.LedgerID)
	}
	buf = binary.AppendVarint(buf, c.RunID)
	buf = binary.AppendVarint(buf, c.ContactID)
	buf = appendString(buf, c.Campaign)
	buf = appendString(buf, c.Step)
	buf = appendString(buf, c.Channel)
	buf = binary.AppendVarint(buf, c.IssuedAt.Unix())
	if c.Purpose == PurposeClick {
		buf = appendString(buf, c.URL)
	}
	n := len(buf)
	buf = s.macs[s.current].Sum(buf, buf)[:n+macLen]
	return b64.AppendEncode(dst, buf)
}

// Verify checks token and returns its claims, without any database read.
// Errors wrap ErrMalformed, ErrUnknownKey, ErrSignature or ErrExpired.
// The caller checks the purpose (or uses VerifyFor).
func (s *Signer) Verify(token string) (Claims, error) {
	var c Claims
	if len(token) > 4096 {
		return c, ErrMalformed
	}
	raw, err := b64.DecodeString(token)
	if err != nil || len(raw) < 3+macLen {
		return c, ErrMalformed
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if body[0] != tokenVersion {
		return c, ErrMalformed
	}
	kl := int(body[1])
	if kl == 0 || 2+kl > len(body) {
		return c, ErrMalformed
	}
	mp, ok := s.macs[string(body[2:2+kl])]
	if !ok {
		return c, ErrUnknownKey
	}
	var want [sha256.Size]byte
	if !hmac.Equal(sum, mp.Sum(want[:0], body)[:macLen]) {
		return c, ErrSignature
	}
	// The signature is good, so the rest was written by Sign; the checks
	// below only guard against a future format change.
	r := reader{b: body[2+kl:]}
	c.Purpose = Purpose(r.byte())
	if r.byte() == 0 {
		c.LedgerID = hex.EncodeToString(r.bytes(16))
	} else {
		c.LedgerID = r.string()
	}
	c.RunID = r.varint()
	c.ContactID = r.varint()
	c.Campaign = r.string()
	c.Step = r.string()
	c.Channel = r.string()
	c.IssuedAt = time.Unix(r.varint(), 0).UTC()
	if c.Purpose == PurposeClick {
		c.URL = r.string()
	}
	if r.err || len(r.b) != 0 {
		return Claims{}, ErrMalformed
	}
	if s.TTL > 0 && c.Purpose != PurposeUnsubscribe && s.now().Sub(c.IssuedAt) > s.TTL {
		return c, ErrExpired
	}
	return c, nil
}

// VerifyFor is Verify plus a purpose check (ErrPurpose).
func (s *Signer) VerifyFor(token string, p Purpose) (Claims, error) {
	c, err := s.Verify(token)
	if err != nil {
		return c, err
	}
	if c.Purpose != p {
		return Claims{}, fmt.Errorf("%w: %s token used for %s", ErrPurpose, c.Purpose, p)
	}
	return c, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes the payload; any overrun sets err instead of panicking.
type reader struct {
	b   []byte
	err bool
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.err = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.err = true
		r.b = nil
		return make([]byte, max(n, 0))
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = true
		return ""
	}
	r.b = r.b[k:]
	return string(r.bytes(int(n)))
}
