package twilio_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/sms"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/testenv"
)

const (
	testFrom    = "+33700000001"
	testService = "MG0123456789abcdef0123456789abcdef"
)

func newSender(t testing.TB, d *testenv.TwilioDouble, name string, mutate func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		Name: name, AccountSID: d.AccountSID, AuthToken: d.AuthToken,
		APIBaseURL: d.URL, From: testFrom,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("twilio.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSendReachesDouble(t *testing.T) {
	d := testenv.StartTwilio(t)
	tests := []struct {
		name         string
		channel      string
		cfg          func(*twilio.Config)
		msg          channel.Message
		wantForm     map[string][]string // exact values expected
		wantAbsent   []string
		wantSegments int
	}{
		{
			name:    "sms from a number with default callback",
			channel: smsch.SMS,
			cfg:     func(c *twilio.Config) { c.StatusCallback = "https://relais.example/webhooks/twilio/status" },
			msg:     channel.Message{LedgerID: "l1", To: "+33612345678", Text: "Bonjour, votre commande est prête"},
			wantForm: map[string][]string{
				"To": {"+33612345678"}, "From": {testFrom}, "Body": {"Bonjour, votre commande est prête"},
				"StatusCallback": {"https://relais.example/webhooks/twilio/status"},
			},
			wantAbsent:   []string{"MessagingServiceSid", "MediaUrl"},
			wantSegments: 1,
		},
		{
			name:    "messaging service sid goes as MessagingServiceSid",
			channel: smsch.SMS,
			msg: channel.Message{LedgerID: "l2", To: "+14155550100", From: testService,
				Text: strings.Repeat("é", 200), StatusCallback: "https://relais.example/cb?l=l2"},
			wantForm: map[string][]string{
				"To": {"+14155550100"}, "MessagingServiceSid": {testService},
				"StatusCallback": {"https://relais.example/cb?l=l2"},
			},
			wantAbsent:   []string{"From", "MediaUrl"},
			wantSegments: 2,
		},
		{
			name:    "alphanumeric sender starting with MG stays From",
			channel: smsch.SMS,
			msg:     channel.Message{LedgerID: "l3", To: "+33612345678", From: "MGSHOP", Text: "hi"},
			wantForm: map[string][]string{
				"From": {"MGSHOP"},
			},
			wantAbsent:   []string{"MessagingServiceSid", "StatusCallback"},
			wantSegments: 1,
		},
		{
			name:    "mms with two public media URLs",
			channel: smsch.MMS,
			msg: channel.Message{LedgerID: "l4", To: "+33612345678", Text: "Votre coupon",
				MediaURLs: []string{"https://93.184.215.14/coupon.png", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/a.jpg"}},
			wantForm: map[string][]string{
				"MediaUrl": {"https://93.184.215.14/coupon.png", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/a.jpg"},
				"Body":     {"Votre coupon"},
			},
			wantSegments: 1,
		},
		{
			name:         "mms media only",
			channel:      smsch.MMS,
			msg:          channel.Message{LedgerID: "l5", To: "+33612345678", MediaURLs: []string{"https://93.184.215.14/x.gif"}},
			wantForm:     map[string][]string{"MediaUrl": {"https://93.184.215.14/x.gif"}},
			wantAbsent:   []string{"Body"},
			wantSegments: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, d, tt.channel, tt.cfg)
			if s.Name() != tt.channel {
				t.Fatalf("Name() = %q, want %q", s.Name(), tt.channel)
			}
			before := len(d.Requests())
			rcpt, err := s.Send(context.Background(), &tt.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := d.Requests()
			if len(reqs) != before+1 {
				t.Fatalf("double saw %d new requests, want 1", len(reqs)-before)
			}
			form := reqs[len(reqs)-1].Form
			for k, want := range tt.wantForm {
				if got := form[k]; strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("form %s = %q, want %q", k, got, want)
				}
			}
			for _, k := range tt.wantAbsent {
				if _, ok := form[k]; ok {
					t.Errorf("form has %s, want absent", k)
				}
			}
			if m := d.Message(rcpt.ProviderID); m == nil {
				t.Errorf("receipt SID %q is not a message the double created", rcpt.ProviderID)
			}
			if len(rcpt.ProviderID) != 34 {
				t.Errorf("SID %q: want 34 characters", rcpt.ProviderID)
			}
			if rcpt.Segments != tt.wantSegments {
				t.Errorf("Segments = %d, want %d", rcpt.Segments, tt.wantSegments)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	d := testenv.StartTwilio(t)
	d.FailTo("+33600000211", 400, 21211)
	d.FailTo("+33100000000", 400, 21614)
	d.FailTo("+33600000610", 400, 21610)
	d.FailTo("+33600000408", 400, 21408)
	d.FailTo("+33600000612", 400, 21612)
	d.FailTo("+33600000999", 400, 21999)
	d.FailTo("+33600000429", 429, 20429)
	d.FailTo("+33600000500", 500, 20500)
	d.FailTo("+33600000503", 503, 20503)

	tests := []struct {
		name      string
		channel   string
		msg       channel.Message
		cfg       func(*twilio.Config)
		reason    string
		permanent bool
		reachAPI  bool
		account   string // the setting an account error names ("": not one)
	}{
		{name: "invalid number 21211", msg: msg("+33600000211"), reason: sms.ReasonInvalidAddress, permanent: true, reachAPI: true},
		{name: "landline 21614", msg: msg("+33100000000"), reason: sms.ReasonLandline, permanent: true, reachAPI: true},
		{name: "opted out 21610", msg: msg("+33600000610"), reason: sms.ReasonOptedOut, permanent: true, reachAPI: true},
		{name: "region not enabled 21408", msg: msg("+33600000408"), reason: sms.ReasonUnreachable, permanent: true, reachAPI: true},
		{name: "unreachable 21612", msg: msg("+33600000612"), reason: sms.ReasonUnreachable, permanent: true, reachAPI: true},
		{name: "other 4xx", msg: msg("+33600000999"), reason: sms.ReasonRejected, permanent: true, reachAPI: true},
		{name: "throttled 429", msg: msg("+33600000429"), reason: sms.ReasonThrottled, reachAPI: true},
		{name: "server error 500", msg: msg("+33600000500"), reason: sms.ReasonProvider, reachAPI: true},
		{name: "server error 503", msg: msg("+33600000503"), reason: sms.ReasonProvider, reachAPI: true},
		{name: "wrong credentials", msg: msg("+33612345678"), reason: sms.ReasonAuth, account: twilio.CredentialsSetting, reachAPI: true,
			cfg: func(c *twilio.Config) { c.AuthToken = "wrongtoken" }},
		{name: "not E.164 is refused before the API", msg: msg("0612345678"), reason: sms.ReasonInvalidAddress, permanent: true},
		{name: "empty message", msg: channel.Message{To: "+33612345678"}, reason: sms.ReasonInvalidMessage, permanent: true},
		{name: "media on the sms channel", msg: channel.Message{To: "+33612345678", Text: "x", MediaURLs: []string{"https://93.184.215.14/a.png"}},
			reason: sms.ReasonInvalidMessage, permanent: true},
		{name: "no sender", msg: msg("+33612345678"), cfg: func(c *twilio.Config) { c.From = "" }, reason: sms.ReasonInvalidSender, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := tt.channel
			if ch == "" {
				ch = smsch.SMS
			}
			s := newSender(t, d, ch, tt.cfg)
			before := len(d.Requests())
			_, err := s.Send(context.Background(), &tt.msg)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := sms.Reason(err); got != tt.reason {
				t.Errorf("Reason = %q, want %q (err %v)", got, tt.reason, err)
			}
			if got := channel.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if got, _ := channel.AccountSetting(err); got != tt.account {
				t.Errorf("AccountSetting = %q, want %q", got, tt.account)
			}
			if reached := len(d.Requests()) > before; reached != tt.reachAPI {
				t.Errorf("reached API = %v, want %v", reached, tt.reachAPI)
			}
			if tt.msg.To != "" && strings.Contains(err.Error(), strings.TrimPrefix(tt.msg.To, "+")) {
				t.Errorf("error %q leaks the recipient's number", err)
			}
		})
	}
}

func msg(to string) channel.Message {
	return channel.Message{LedgerID: "l", To: to, Text: "Hello"}
}

func TestSendRetriesAfterInjectedFailures(t *testing.T) {
	d := testenv.StartTwilio(t)
	s := newSender(t, d, smsch.SMS, nil)
	d.FailNext(2, 500, 20500)
	m := msg("+33612345678")
	for i := range 2 {
		_, err := s.Send(context.Background(), &m)
		if channel.IsPermanent(err) || sms.Reason(err) != sms.ReasonProvider {
			t.Fatalf("attempt %d: err = %v, want a temporary provider error", i+1, err)
		}
	}
	rcpt, err := s.Send(context.Background(), &m)
	if err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if d.Message(rcpt.ProviderID) == nil {
		t.Fatalf("third attempt created no message")
	}
}

func TestSendNetworkErrorsAreTemporary(t *testing.T) {
	d, err := testenv.NewTwilioDouble()
	if err != nil {
		t.Fatal(err)
	}
	s := newSender(t, d, smsch.SMS, nil)
	d.Close() // nothing listens any more

	tests := []struct {
		name string
		ctx  func() context.Context
		is   error
	}{
		{name: "connection refused", ctx: context.Background},
		{name: "cancelled context", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, is: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := msg("+33612345678")
			_, err := s.Send(tt.ctx(), &m)
			if err == nil || channel.IsPermanent(err) {
				t.Fatalf("err = %v, want temporary", err)
			}
			if sms.Reason(err) != sms.ReasonNetwork {
				t.Errorf("Reason = %q, want %q", sms.Reason(err), sms.ReasonNetwork)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.is)
			}
		})
	}
}

func TestMMSMediaMustBePublic(t *testing.T) {
	d := testenv.StartTwilio(t)
	tests := []struct {
		name         string
		url          string
		allowPrivate bool
		ok           bool
	}{
		{name: "public https ip", url: "https://93.184.215.14/a.png", ok: true},
		{name: "http refused", url: "http://93.184.215.14/a.png"},
		{name: "loopback", url: "https://127.0.0.1/a.png"},
		{name: "localhost name", url: "https://localhost/a.png"},
		{name: "private 10/8", url: "https://10.1.2.3/a.png"},
		{name: "private 192.168", url: "https://192.168.1.1/a.png"},
		{name: "cloud metadata link-local", url: "https://169.254.169.254/latest/meta-data"},
		{name: "ipv6 loopback", url: "https://[::1]/a.png"},
		{name: "ipv4-mapped loopback", url: "https://[::ffff:127.0.0.1]/a.png"},
		{name: "unique local v6", url: "https://[fd00::1]/a.png"},
		{name: "carrier-grade NAT", url: "https://100.64.0.1/a.png"},
		{name: "unspecified", url: "https://0.0.0.0/a.png"},
		{name: "credentials in URL", url: "https://user:pw@93.184.215.14/a.png"},
		{name: "relative", url: "/media/a.png"},
		{name: "allowed private for tests", url: "http://127.0.0.1:8080/a.png", allowPrivate: true, ok: true},
		{name: "allowed private still needs http(s)", url: "file:///etc/passwd", allowPrivate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, d, smsch.MMS, func(c *twilio.Config) { c.AllowPrivateMedia = tt.allowPrivate })
			m := channel.Message{To: "+33612345678", MediaURLs: []string{tt.url}}
			before := len(d.Requests())
			_, err := s.Send(context.Background(), &m)
			if tt.ok {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			if sms.Reason(err) != sms.ReasonInvalidMedia || !channel.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent %s", err, sms.ReasonInvalidMedia)
			}
			if len(d.Requests()) != before {
				t.Errorf("a refused media URL reached the API")
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  twilio.Config
	}{
		{name: "no credentials", cfg: twilio.Config{}},
		{name: "unknown channel", cfg: twilio.Config{Name: "fax", AccountSID: "AC1", AuthToken: "t"}},
		{name: "relative base URL", cfg: twilio.Config{AccountSID: "AC1", AuthToken: "t", APIBaseURL: "localhost:1234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := twilio.New(tt.cfg); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}
