package twilio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/testenv"
)

// ledger is a consumer-side sink that keeps, per message, the latest status
// that advanced it, as the send ledger does with conditional updates.
type ledger struct {
	mu       sync.Mutex
	status   map[string]string
	codes    map[string]int
	calls    int
	optOuts  []string
	replies  []string
	lastBody string
}

func newLedger() *ledger {
	return &ledger{status: map[string]string{}, codes: map[string]int{}}
}

func (l *ledger) SMSStatus(_ context.Context, sid, status string, code int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if twilio.Advances(l.status[sid], status) {
		l.status[sid] = status
		l.codes[sid] = code
	}
	return nil
}

func (l *ledger) OptOut(_ context.Context, from, body, sid string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.optOuts = append(l.optOuts, from)
	l.lastBody = body
	return nil
}

func (l *ledger) Reply(_ context.Context, from, body, sid string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.replies = append(l.replies, from)
	l.lastBody = body
	return nil
}

func (l *ledger) snapshot() (status map[string]string, calls, optOuts, replies int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := make(map[string]string, len(l.status))
	for k, v := range l.status {
		st[k] = v
	}
	return st, l.calls, len(l.optOuts), len(l.replies)
}

// webhookServer mounts both handlers the way httpapi would, under a prefix
// stripped by http.StripPrefix, to check the signature uses the full path.
func webhookServer(t *testing.T, token string, sink *ledger) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	public := "http://" + srv.Listener.Addr().String()
	v := twilio.NewValidator(token)
	inner := http.NewServeMux()
	inner.Handle("/twilio/status", twilio.StatusHandler(v, public, sink))
	inner.Handle("/twilio/inbound", twilio.InboundHandler(v, public, sink))
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", http.StripPrefix("/webhooks", inner))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestStatusCallbacksMoveForward(t *testing.T) {
	d := testenv.StartTwilio(t)
	sink := newLedger()
	hook := webhookServer(t, d.AuthToken, sink)
	s := newSender(t, d, smsch.SMS, func(c *twilio.Config) { c.StatusCallback = hook.URL + "/webhooks/twilio/status?campaign=c1" })
	m := msg("+33612345678")
	rcpt, err := s.Send(context.Background(), &m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	// Twilio repeats and reorders callbacks: the late "sent" must not undo "delivered".
	for _, st := range []string{"queued", "sent", "delivered", "sent", "delivered", "queued"} {
		if err := d.SendStatus(rcpt.ProviderID, st); err != nil {
			t.Fatalf("SendStatus(%s): %v", st, err)
		}
	}
	status, calls, _, _ := sink.snapshot()
	if status[rcpt.ProviderID] != "delivered" || calls != 6 {
		t.Fatalf("status = %q after %d calls, want delivered after 6", status[rcpt.ProviderID], calls)
	}
	state, final := twilio.FinalState(status[rcpt.ProviderID])
	if state != twilio.StateDelivered || !final {
		t.Errorf("FinalState = (%q, %v)", state, final)
	}

	m2 := msg("+33612345679")
	rcpt2, err := s.Send(context.Background(), &m2)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := d.SendStatusError(rcpt2.ProviderID, "undelivered", 30003); err != nil {
		t.Fatalf("SendStatusError: %v", err)
	}
	sink.mu.Lock()
	code := sink.codes[rcpt2.ProviderID]
	sink.mu.Unlock()
	if code != 30003 {
		t.Errorf("error code = %d, want 30003", code)
	}
}

func TestWebhookSignature(t *testing.T) {
	d := testenv.StartTwilio(t)
	sink := newLedger()
	hook := webhookServer(t, d.AuthToken, sink)
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"delivered"}}
	statusURL := hook.URL + "/webhooks/twilio/status"

	tests := []struct {
		name      string
		target    string
		signature string
		body      url.Values
		want      int
	}{
		{name: "valid", target: statusURL, signature: testenv.SignTwilio(d.AuthToken, statusURL, form), body: form, want: http.StatusOK},
		{name: "unsigned", target: statusURL, body: form, want: http.StatusForbidden},
		{name: "signed with another token", target: statusURL, signature: testenv.SignTwilio("othertoken", statusURL, form), body: form, want: http.StatusForbidden},
		{name: "signed for another URL", target: statusURL, signature: testenv.SignTwilio(d.AuthToken, "https://evil.example/webhooks/twilio/status", form), body: form, want: http.StatusForbidden},
		{name: "params tampered after signing", target: statusURL, signature: testenv.SignTwilio(d.AuthToken, statusURL, form),
			body: url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"failed"}}, want: http.StatusForbidden},
		{name: "signed inbound", target: hook.URL + "/webhooks/twilio/inbound",
			signature: testenv.SignTwilio(d.AuthToken, hook.URL+"/webhooks/twilio/inbound", url.Values{"From": {"+33612345678"}, "Body": {"hi"}, "MessageSid": {"SMx"}}),
			body:      url.Values{"From": {"+33612345678"}, "Body": {"hi"}, "MessageSid": {"SMx"}}, want: http.StatusOK},
		{name: "forged inbound", target: hook.URL + "/webhooks/twilio/inbound", signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			body: url.Values{"From": {"+33612345678"}, "Body": {"STOP"}, "MessageSid": {"SMx"}}, want: http.StatusForbidden},
		{name: "signed but missing fields", target: statusURL, signature: testenv.SignTwilio(d.AuthToken, statusURL, url.Values{"MessageSid": {"SMx"}}),
			body: url.Values{"MessageSid": {"SMx"}}, want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, callsBefore, _, _ := sink.snapshot()
			req, err := http.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.signature != "" {
				req.Header.Set("X-Twilio-Signature", tt.signature)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			_, callsAfter, _, _ := sink.snapshot()
			if called := callsAfter > callsBefore; called != (tt.want == http.StatusOK) {
				t.Errorf("sink called = %v with answer %d", called, resp.StatusCode)
			}
			if tt.want == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
				t.Errorf("Content-Type = %q, want text/xml", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestInboundKeywords(t *testing.T) {
	d := testenv.StartTwilio(t)
	tests := []struct {
		name   string
		body   string
		optOut bool
	}{
		{name: "STOP", body: "STOP", optOut: true},
		{name: "lower case", body: "stop", optOut: true},
		{name: "surrounding spaces and punctuation", body: "  Stop !  ", optOut: true},
		{name: "STOP ALL", body: "STOP ALL", optOut: true},
		{name: "STOPALL", body: "stopall", optOut: true},
		{name: "ARRET", body: "ARRET", optOut: true},
		{name: "ARRÊT with accent", body: "Arrêt.", optOut: true},
		{name: "UNSUBSCRIBE", body: "unsubscribe", optOut: true},
		{name: "END", body: "End", optOut: true},
		{name: "QUIT", body: "quit", optOut: true},
		{name: "CANCEL", body: "Cancel", optOut: true},
		{name: "sentence containing stop is a reply", body: "please stop calling me", optOut: false},
		{name: "plain reply", body: "Oui, je viens samedi", optOut: false},
		{name: "STOPPER is not STOP", body: "stopper", optOut: false},
		{name: "empty body is a reply", body: "", optOut: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newLedger()
			hook := webhookServer(t, d.AuthToken, sink)
			if err := d.SendInbound(hook.URL+"/webhooks/twilio/inbound", "+33612345678", "+33700000001", tt.body); err != nil {
				t.Fatalf("SendInbound: %v", err)
			}
			_, _, optOuts, replies := sink.snapshot()
			want := [2]int{0, 1}
			if tt.optOut {
				want = [2]int{1, 0}
			}
			if [2]int{optOuts, replies} != want {
				t.Errorf("opt-outs, replies = %d, %d; want %v", optOuts, replies, want)
			}
			if sink.lastBody != tt.body {
				t.Errorf("body passed = %q, want %q", sink.lastBody, tt.body)
			}
		})
	}
}
