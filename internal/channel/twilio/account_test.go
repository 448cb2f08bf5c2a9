package twilio_test

import (
	"context"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/sms"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/testenv"
)

// TestAccountCodes is the classification table of Twilio answers: those
// that refuse the account or the sender pause the channel (naming what
// to fix); the others refuse one message or one moment.
func TestAccountCodes(t *testing.T) {
	for _, tc := range []struct {
		status, code int
		want         string
	}{
		{401, 20003, twilio.CredentialsSetting},
		{401, 0, twilio.CredentialsSetting},
		{403, 20003, twilio.CredentialsSetting},
		{403, 0, twilio.CredentialsSetting},
		{400, 21606, twilio.SenderSetting},
		{400, 21212, twilio.SenderSetting},
		{400, 21211, ""},
		{400, 21614, ""},
		{400, 21610, ""},
		{429, 20429, ""},
		{500, 20500, ""},
	} {
		if got := twilio.AccountSettingOf(tc.status, tc.code); got != tc.want {
			t.Errorf("AccountSettingOf(%d, %d) = %q, want %q", tc.status, tc.code, got, tc.want)
		}
	}
}

// TestAccountErrors sends through the double: a refused token and a
// refused From are account errors, not permanent, and nothing is
// created; Probe fails while the token is refused and passes after.
func TestAccountErrors(t *testing.T) {
	d := testenv.StartTwilio(t)
	s := newSender(t, d, smsch.SMS, nil)
	ctx := context.Background()
	m := &channel.Message{To: "+33612345678", Text: "bonjour"}
	for _, tc := range []struct {
		name         string
		status, code int
		setting      string
		reason       string
	}{
		{"401 20003", 401, 20003, twilio.CredentialsSetting, sms.ReasonAuth},
		{"403", 403, 20003, twilio.CredentialsSetting, sms.ReasonAuth},
		{"21606 unknown sender", 400, 21606, twilio.SenderSetting, sms.ReasonInvalidSender},
		{"21212 invalid From", 400, 21212, twilio.SenderSetting, sms.ReasonInvalidSender},
	} {
		d.FailNext(1, tc.status, tc.code)
		_, err := s.Send(ctx, m)
		setting, ok := channel.AccountSetting(err)
		if !ok || setting != tc.setting || channel.IsPermanent(err) || sms.Reason(err) != tc.reason {
			t.Errorf("%s: err %v: account=%v setting=%q permanent=%v reason=%q, want account %q reason %q",
				tc.name, err, ok, setting, channel.IsPermanent(err), sms.Reason(err), tc.setting, tc.reason)
		}
	}
	d.RefuseAuth(true)
	_, err := s.Send(ctx, m)
	if setting, ok := channel.AccountSetting(err); !ok || setting != twilio.CredentialsSetting {
		t.Fatalf("refused token: %v, want an account error", err)
	}
	if setting, ok := channel.AccountSetting(s.Probe(ctx)); !ok || setting != twilio.CredentialsSetting {
		t.Fatalf("probe with a refused token: want an account error")
	}
	d.RefuseAuth(false)
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("probe after the fix: %v", err)
	}
	created := 0
	for _, r := range d.Requests() {
		if r.Method == "POST" {
			created++
		}
	}
	if _, err := s.Send(ctx, m); err != nil {
		t.Fatalf("send after the fix: %v", err)
	}
	if n := len(d.Requests()); n == 0 {
		t.Fatal("no request recorded")
	}
	if created != 5 {
		t.Errorf("%d create requests before the fix, want 5 (each refused)", created)
	}
}
