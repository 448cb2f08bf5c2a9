package tracking

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

func newSigner(t testing.TB, secret string, previous ...string) *Signer {
	t.Helper()
	s, err := SignerFromSecrets(secret, previous...)
	if err != nil {
		t.Fatalf("SignerFromSecrets: %v", err)
	}
	return s
}

func sampleClaims(p Purpose) Claims {
	c := Claims{
		Purpose:   p,
		LedgerID:  store.LedgerID(42, "relance", 123456, "email"),
		RunID:     42,
		ContactID: 123456,
		Campaign:  "printemps-2027",
		Step:      "relance",
		Channel:   "email",
		IssuedAt:  time.Date(2027, 3, 20, 9, 30, 0, 0, time.UTC),
	}
	if p == PurposeClick {
		c.URL = "https://boutique.example/soldes?utm_source=relais&x=1#top"
	}
	return c
}

func TestSignVerifyRoundTrip(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	tests := []struct {
		name   string
		claims Claims
	}{
		{"open", sampleClaims(PurposeOpen)},
		{"click", sampleClaims(PurposeClick)},
		{"unsubscribe", sampleClaims(PurposeUnsubscribe)},
		{"view", sampleClaims(PurposeView)},
		{"purl", sampleClaims(PurposePURL)},
		{"non-hex ledger id", Claims{Purpose: PurposeOpen, LedgerID: "not-hex", RunID: 1, ContactID: 2, Campaign: "c", Step: "s", Channel: "sms", IssuedAt: time.Unix(1, 0).UTC()}},
		{"upper-case hex ledger id kept as is", Claims{Purpose: PurposeView, LedgerID: strings.ToUpper(store.LedgerID(1, "s", 2, "email")), IssuedAt: time.Unix(5, 0).UTC()}},
		{"negative ids", Claims{Purpose: PurposeOpen, LedgerID: "x", RunID: -3, ContactID: -9, IssuedAt: time.Unix(7, 0).UTC()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := s.Sign(tc.claims)
			got, err := s.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tc.claims {
				t.Fatalf("claims = %+v, want %+v", got, tc.claims)
			}
			if tc.claims.Purpose != PurposeClick && len(tok) >= 150 {
				t.Fatalf("token is %d chars, want < 150", len(tok))
			}
			if strings.ContainsAny(tok, "+/=") {
				t.Fatalf("token %q is not base64url without padding", tok)
			}
		})
	}
}

func TestSignSetsIssuedAt(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Now = func() time.Time { return now }
	c := sampleClaims(PurposeOpen)
	c.IssuedAt = time.Time{}
	got, err := s.Verify(s.Sign(c))
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(now) {
		t.Fatalf("IssuedAt = %v, want %v", got.IssuedAt, now)
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	for _, p := range []Purpose{PurposeOpen, PurposeClick, PurposeUnsubscribe} {
		tok := s.Sign(sampleClaims(p))
		raw, err := b64.DecodeString(tok)
		if err != nil {
			t.Fatal(err)
		}
		for i := range raw {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				mod := bytes.Clone(raw)
				mod[i] ^= mask
				if _, err := s.Verify(b64.EncodeToString(mod)); err == nil {
					t.Fatalf("%s: byte %d ^ %#x accepted", p, i, mask)
				}
			}
		}
		for n := 0; n < len(raw); n++ {
			if _, err := s.Verify(b64.EncodeToString(raw[:n])); err == nil {
				t.Fatalf("%s: truncated to %d bytes accepted", p, n)
			}
		}
		if _, err := s.Verify(b64.EncodeToString(append(bytes.Clone(raw), 0))); err == nil {
			t.Fatalf("%s: extended token accepted", p)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	other := newSigner(t, "another-secret-0123456789")
	// Same key id, different key: a forged token that names our key.
	forgedKeys := map[string][]byte{s.current: bytes.Repeat([]byte{7}, 32)}
	forger, err := NewSigner(forgedKeys, s.current)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		purpose Purpose
		want    error
	}{
		{"empty", "", PurposeOpen, ErrMalformed},
		{"not base64", "!!!!", PurposeOpen, ErrMalformed},
		{"garbage", b64.EncodeToString(bytes.Repeat([]byte{9}, 40)), PurposeOpen, ErrMalformed},
		{"unknown key id", b64.EncodeToString(bytes.Repeat([]byte{1}, 40)), PurposeOpen, ErrUnknownKey},
		{"other key id", other.Sign(sampleClaims(PurposeOpen)), PurposeOpen, ErrUnknownKey},
		{"same key id, other key", forger.Sign(sampleClaims(PurposeOpen)), PurposeOpen, ErrSignature},
		{"open token used to unsubscribe", s.Sign(sampleClaims(PurposeOpen)), PurposeUnsubscribe, ErrPurpose},
		{"view token used to click", s.Sign(sampleClaims(PurposeView)), PurposeClick, ErrPurpose},
		{"unsubscribe token used to view", s.Sign(sampleClaims(PurposeUnsubscribe)), PurposeView, ErrPurpose},
		{"huge", strings.Repeat("A", 5000), PurposeOpen, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.VerifyFor(tc.token, tc.purpose)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old := newSigner(t, "the-old-secret-0123456789")
	rotated := newSigner(t, "the-new-secret-0123456789", "the-old-secret-0123456789")
	c := sampleClaims(PurposeUnsubscribe)
	tests := []struct {
		name   string
		signer *Signer
	}{
		{"token signed with the old key", old},
		{"token signed with the new key", rotated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rotated.Verify(tc.signer.Sign(c))
			if err != nil || got != c {
				t.Fatalf("Verify = %+v, %v", got, err)
			}
		})
	}
	if _, err := old.Verify(rotated.Sign(c)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old signer verified a new-key token: %v", err)
	}
	if got := rotated.KeyIDs(); len(got) != 2 {
		t.Fatalf("KeyIDs = %v", got)
	}
}

func TestExpiry(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	issued := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	now := issued.Add(48 * time.Hour)
	s.Now = func() time.Time { return now }
	s.TTL = 24 * time.Hour
	tests := []struct {
		name    string
		purpose Purpose
		want    error
	}{
		{"open expires", PurposeOpen, ErrExpired},
		{"click expires", PurposeClick, ErrExpired},
		{"view expires", PurposeView, ErrExpired},
		{"unsubscribe never expires", PurposeUnsubscribe, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := sampleClaims(tc.purpose)
			c.IssuedAt = issued
			_, err := s.Verify(s.Sign(c))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTokenHoldsNoPII(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	l, err := NewLinks(s, "https://t.example.fr")
	if err != nil {
		t.Fatal(err)
	}
	row := &store.LedgerRow{ID: store.LedgerID(1, "s1", 77, "email"), RunID: 1, ContactID: 77,
		CampaignID: "c1", StepID: "s1", Channel: "email", Purpose: "marketing"}
	c := personContact()
	links, _, err := l.Links(row, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{links.Unsubscribe, links.View, links.Headers["List-Unsubscribe"]} {
		tok := u[strings.LastIndexByte(u, '/')+1:]
		tok = strings.TrimSuffix(tok, ">")
		raw, err := b64.DecodeString(tok)
		if err != nil {
			t.Fatalf("decode %q: %v", tok, err)
		}
		for _, pii := range []string{c.Email, c.EmailNorm, c.Phone, c.FirstName, c.LastName, c.Address.Line1, c.Address.Postcode} {
			if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(pii))) || strings.Contains(strings.ToLower(u), strings.ToLower(pii)) {
				t.Fatalf("token of %s holds %q", u, pii)
			}
		}
	}
}

func TestNewSignerErrors(t *testing.T) {
	k := bytes.Repeat([]byte{1}, 32)
	tests := []struct {
		name    string
		keys    map[string][]byte
		current string
	}{
		{"current missing", map[string][]byte{"a": k}, "b"},
		{"short key", map[string][]byte{"a": k[:8]}, "a"},
		{"empty id", map[string][]byte{"": k}, ""},
		{"long id", map[string][]byte{strings.Repeat("x", 17): k}, strings.Repeat("x", 17)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSigner(tc.keys, tc.current); err == nil {
				t.Fatal("NewSigner accepted bad keys")
			}
		})
	}
	if _, err := SignerFromSecrets(""); err == nil {
		t.Fatal("empty secret accepted")
	}
	if _, err := SignerFromSecrets("same-secret-0123456789", "same-secret-0123456789"); err == nil {
		t.Fatal("duplicate secret accepted")
	}
}

func TestResponseCode(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	seen := map[string]bool{}
	for i := int64(0); i < 20000; i++ {
		id := store.LedgerID(1, "s", i, "print")
		code := s.ResponseCode(id)
		if len(code) != ResponseCodeLen {
			t.Fatalf("code %q has length %d", code, len(code))
		}
		if n, ok := NormalizeCode(code); !ok || n != code {
			t.Fatalf("NormalizeCode(%q) = %q, %v", code, n, ok)
		}
		if seen[code] {
			t.Fatalf("collision on %q after %d codes", code, i)
		}
		seen[code] = true
		if i == 0 && s.ResponseCode(id) != code {
			t.Fatal("ResponseCode is not deterministic")
		}
	}
	other := newSigner(t, "another-secret-0123456789")
	if id := store.LedgerID(1, "s", 1, "print"); other.ResponseCode(id) == s.ResponseCode(id) {
		t.Fatal("code does not depend on the key")
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"canonical", "0123456789", "0123456789", true},
		{"lower case and hyphen", "abcde-fghjk", "ABCDEFGHJK", true},
		{"confusable letters", "OIL0o1iLab", "01100111AB", true},
		{"spaces", "ABCDE FGHJK", "ABCDEFGHJK", true},
		{"too short", "ABC", "", false},
		{"too long", "ABCDEFGHJKM", "", false},
		{"U is not Crockford", "UUUUUUUUUU", "", false},
		{"non ASCII", "ÀBCDEFGHJK", "", false},
		{"path traversal", "../../etc", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NormalizeCode(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("NormalizeCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
