package twilio_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/twilio"
)

// A create request that reached Twilio without an answer may have created
// the message (ambiguous); one that never reached it is a plain retry.
func TestCreateWithoutAnswerIsAmbiguous(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		got.Add(1)
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = c.Close() // the answer is lost
		}
	}))
	defer srv.Close()
	s, err := twilio.New(twilio.Config{AccountSID: "AC00000000000000000000000000000000", AuthToken: "t",
		APIBaseURL: srv.URL, From: "+33700000000", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := &channel.Message{LedgerID: "l1", To: "+33612345678", Text: "Bonjour"}
	_, err = s.Send(context.Background(), msg)
	if !channel.IsAmbiguous(err) || channel.IsPermanent(err) || got.Load() != 1 {
		t.Fatalf("lost answer: Send = %v (%d requests), want ambiguous after 1 request", err, got.Load())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the request never leaves
	s2, err := twilio.New(twilio.Config{AccountSID: "AC00000000000000000000000000000000", AuthToken: "t",
		APIBaseURL: "http://" + addr, From: "+33700000000", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	_, err = s2.Send(context.Background(), msg)
	if err == nil || channel.IsAmbiguous(err) || channel.IsPermanent(err) {
		t.Fatalf("refused connection: Send = %v, want a temporary error", err)
	}
}
