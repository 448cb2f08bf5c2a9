package tracking

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/relais-dev/relais/internal/macpool"
)

// PurposeBounce marks a ledger token carried by an outgoing email (its
// Return-Path and its ledger header) so that a bounce, a complaint or a
// provider event finds the message again without the recipient's address.
const PurposeBounce Purpose = 6

// ledgerMACLen is the MAC length of a ledger token: 64 bits keeps a VERP
// address within the 64 characters of an email local part, and a forger
// gets one guess per bounce delivered to us.
const ledgerMACLen = 8

// SignLedger returns the compact token of ledgerID (32 hex digits) for
// purpose p: "<key id>-<ledger id>-<mac>", lower-case hex and hyphens only,
// because it travels in an email local part where mail systems may fold
// case. Only key ids made of lower-case letters and digits (those of
// SignerFromSecrets) can be used; with another current key id, or a ledger
// id that is not 32 lower-case hex digits, it returns "".
func (s *Signer) SignLedger(p Purpose, ledgerID string) string {
	if !compactID(s.current) || !isLedgerHex(ledgerID) {
		return ""
	}
	return s.current + "-" + ledgerID + "-" + hex.EncodeToString(ledgerMAC(s.macs[s.current], p, ledgerID))
}

// VerifyLedger checks a token made by SignLedger for purpose p, with any
// key the signer holds (so tokens survive a rotation), and returns the
// ledger id. Case is ignored. Errors wrap ErrMalformed, ErrUnknownKey or
// ErrSignature.
func (s *Signer) VerifyLedger(p Purpose, token string) (string, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(token)), "-")
	if len(parts) != 3 || !isLedgerHex(parts[1]) || len(parts[2]) != 2*ledgerMACLen {
		return "", ErrMalformed
	}
	mp, ok := s.macs[parts[0]]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownKey, parts[0])
	}
	got, err := hex.DecodeString(parts[2])
	if err != nil {
		return "", ErrMalformed
	}
	if !hmac.Equal(got, ledgerMAC(mp, p, parts[1])) {
		return "", ErrSignature
	}
	return parts[1], nil
}

func ledgerMAC(mp *macpool.Pool, p Purpose, ledgerID string) []byte {
	body := append([]byte("relais-ledger-v1\x00"), byte(p))
	body = append(body, ledgerID...)
	return mp.Sum(nil, body)[:ledgerMACLen]
}

func compactID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return id != ""
}

func isLedgerHex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
