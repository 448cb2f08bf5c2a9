package storetest

import (
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// testChannelPauses: the first pause of a channel is kept (a second
// reports false and changes nothing), pauses are listed by channel, and
// resuming reports whether the channel was paused.
func testChannelPauses(t *testing.T, s store.Store) {
	c := ctx(t)
	if ps, err := s.ChannelPauses(c); err != nil || len(ps) != 0 {
		t.Fatalf("ChannelPauses on a new store = %v, %v; want none", ps, err)
	}
	at := time.Date(2027, 3, 1, 9, 30, 0, 0, time.UTC)
	first := store.ChannelPause{Channel: "sms", Setting: "TWILIO_AUTH_TOKEN", Error: "sms: twilio error 20003 (HTTP 401): auth", PausedAt: at}
	if ok, err := s.PauseChannel(c, first); err != nil || !ok {
		t.Fatalf("PauseChannel(sms) = %v, %v; want true", ok, err)
	}
	if ok, err := s.PauseChannel(c, store.ChannelPause{Channel: "sms", Setting: "other", Error: "later", PausedAt: at.Add(time.Minute)}); err != nil || ok {
		t.Fatalf("second PauseChannel(sms) = %v, %v; want false", ok, err)
	}
	if ok, err := s.PauseChannel(c, store.ChannelPause{Channel: "email", Setting: "RELAIS_SMTP_URL", Error: "email: auth: smtp 535", PausedAt: at}); err != nil || !ok {
		t.Fatalf("PauseChannel(email) = %v, %v; want true", ok, err)
	}
	ps, err := s.ChannelPauses(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Channel != "email" || ps[1] != first {
		t.Fatalf("ChannelPauses = %+v; want email, then the first sms pause %+v", ps, first)
	}
	if ok, err := s.ResumeChannel(c, "sms"); err != nil || !ok {
		t.Fatalf("ResumeChannel(sms) = %v, %v; want true", ok, err)
	}
	if ok, err := s.ResumeChannel(c, "sms"); err != nil || ok {
		t.Fatalf("second ResumeChannel(sms) = %v, %v; want false", ok, err)
	}
	if ps, err := s.ChannelPauses(c); err != nil || len(ps) != 1 || ps[0].Channel != "email" {
		t.Fatalf("ChannelPauses after resuming sms = %+v, %v; want email only", ps, err)
	}
}
