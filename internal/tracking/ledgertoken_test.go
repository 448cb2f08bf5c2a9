package tracking

import (
	"errors"
	"strings"
	"testing"
)

// TestLedgerToken: a ledger token verifies for its purpose only, survives
// a secret rotation and case folding, and refuses tampering.
func TestLedgerToken(t *testing.T) {
	old, err := SignerFromSecrets("old-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := SignerFromSecrets("new-secret-0123456789", "old-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef0123456789abcdef"
	tok := old.SignLedger(PurposeBounce, id)
	if len("bounce+"+tok) > 64 {
		t.Fatalf("VERP local part %d characters, over 64", len("bounce+"+tok))
	}
	for _, s := range []string{tok, strings.ToUpper(tok)} {
		if got, err := cur.VerifyLedger(PurposeBounce, s); err != nil || got != id {
			t.Errorf("VerifyLedger(%s) = %q, %v", s, got, err)
		}
	}
	if _, err := cur.VerifyLedger(PurposeOpen, tok); !errors.Is(err, ErrSignature) {
		t.Errorf("other purpose: %v", err)
	}
	tampered := tok[:len(tok)-1] + map[bool]string{true: "0", false: "1"}[tok[len(tok)-1] != '0']
	if _, err := cur.VerifyLedger(PurposeBounce, tampered); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered: %v", err)
	}
	other, _ := SignerFromSecrets("third-secret-0123456789")
	if _, err := other.VerifyLedger(PurposeBounce, tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	if got := cur.SignLedger(PurposeBounce, "not-a-ledger-id"); got != "" {
		t.Errorf("bad ledger id signed: %q", got)
	}
}
