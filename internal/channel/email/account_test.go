package email

import (
	"context"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/testenv"
)

// TestAccountCodes is the classification table of SMTP replies: those
// that refuse the account pause the channel, the others are about one
// message or one moment.
func TestAccountCodes(t *testing.T) {
	for code, want := range map[int]bool{530: true, 534: true, 535: true, 538: true,
		421: false, 450: false, 451: false, 452: false, 454: false, 550: false, 552: false, 554: false} {
		if got := IsAccountCode(code); got != want {
			t.Errorf("IsAccountCode(%d) = %v, want %v", code, got, want)
		}
	}
}

// TestAuthRefused sends to a real relay that refuses AUTH (535) and one
// that requires it from a client without credentials (530): both are
// account errors naming the relay URL, neither permanent nor ambiguous,
// and nothing is delivered; Probe fails while the relay refuses and
// passes once it accepts.
func TestAuthRefused(t *testing.T) {
	srv := testenv.StartSMTPWith(t, SMTPOptions{Username: "relais", Password: "s3cret"})
	srv.RefuseAuth(true)
	s := newTestSender(t, srv, 2)
	ctx := context.Background()
	_, err := s.Send(ctx, testMessage("l-535"))
	checkAccount(t, "535", err)
	if Reason(err) != ReasonAuth {
		t.Errorf("Reason = %q, want %q", Reason(err), ReasonAuth)
	}
	if !strings.Contains(err.Error(), "smtp 535") {
		t.Errorf("error %q does not name the reply code", err)
	}
	checkAccount(t, "probe 535", s.Probe(ctx))
	srv.RefuseAuth(false)
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("Probe after the relay accepts again: %v", err)
	}
	if _, err := s.Send(ctx, testMessage("l-ok")); err != nil {
		t.Fatalf("Send after the fix: %v", err)
	}
	if srv.Count() != 1 {
		t.Errorf("relay accepted %d messages, want 1", srv.Count())
	}

	// A client without credentials at a relay that requires AUTH: 530 at
	// MAIL FROM.
	cfg, err := ParseURL("smtp://" + srv.Addr() + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	anon, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	_, err = anon.Send(ctx, testMessage("l-530"))
	checkAccount(t, "530", err)
	if srv.Count() != 1 {
		t.Errorf("relay accepted %d messages, want 1", srv.Count())
	}
}

// SMTPOptions is the test server's options, named here for brevity.
type SMTPOptions = testenv.SMTPOptions

func checkAccount(t *testing.T, what string, err error) {
	t.Helper()
	setting, ok := channel.AccountSetting(err)
	if !ok || setting != AccountSetting {
		t.Fatalf("%s: err %v: account=%v setting=%q, want an account error naming %q", what, err, ok, setting, AccountSetting)
	}
	if channel.IsPermanent(err) || channel.IsAmbiguous(err) {
		t.Errorf("%s: account error is permanent=%v ambiguous=%v, want neither", what, channel.IsPermanent(err), channel.IsAmbiguous(err))
	}
}
