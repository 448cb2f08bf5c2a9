package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/testenv"
)

func TestSendSMTPMessage(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 2)
	if s.Name() != "email" {
		t.Errorf("Name = %q", s.Name())
	}
	rc, err := s.Send(context.Background(), testMessage("L-1"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	if msgs[0].From != "news@Shop.example" || len(msgs[0].To) != 1 || msgs[0].To[0] != "alice@example.org" {
		t.Errorf("envelope = %q → %q", msgs[0].From, msgs[0].To)
	}
	checkTestMessage(t, msgs[0].Data, rc.ProviderID)
}

func TestSendVariants(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(m *channel.Message)
		structure string
	}{
		{name: "text only", edit: func(m *channel.Message) { m.HTML = ""; m.Attachments = nil }, structure: "text/plain"},
		{name: "html only", edit: func(m *channel.Message) { m.Text = ""; m.Attachments = nil }, structure: "text/html"},
		{name: "alternative without attachment", edit: func(m *channel.Message) { m.Attachments = nil },
			structure: "multipart/alternative,text/plain,text/html"},
		{name: "explicit content type and no name", edit: func(m *channel.Message) {
			m.ToName = ""
			m.Attachments = []channel.Attachment{{Name: "notice", ContentType: "text/csv", Data: []byte("a;b\n")}}
		}, structure: "multipart/mixed,multipart/alternative,text/plain,text/html,text/csv"},
		{name: "transactional without list headers", edit: func(m *channel.Message) { m.Headers = nil; m.Purpose = "transactional" },
			structure: "multipart/mixed,multipart/alternative,text/plain,text/html,application/pdf"},
	}
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage(fmt.Sprintf("V-%d", i))
			tt.edit(m)
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			p := parseMail(t, msgs[len(msgs)-1].Data)
			if got := strings.Join(p.structure, ","); got != tt.structure {
				t.Errorf("structure = %s, want %s", got, tt.structure)
			}
			if p.subject != testSubject {
				t.Errorf("subject = %q", p.subject)
			}
		})
	}
}

func TestHeaderInjectionRejected(t *testing.T) {
	const evil = "\r\nBcc: x@y"
	tests := []struct {
		name   string
		edit   func(m *channel.Message)
		reason string
	}{
		{name: "subject", edit: func(m *channel.Message) { m.Subject += evil }, reason: ReasonInvalidHeader},
		{name: "to name", edit: func(m *channel.Message) { m.ToName += evil }, reason: ReasonInvalidHeader},
		{name: "to address", edit: func(m *channel.Message) { m.To += evil }, reason: ReasonInvalidHeader},
		{name: "from", edit: func(m *channel.Message) { m.From += evil }, reason: ReasonInvalidHeader},
		{name: "lone LF in subject", edit: func(m *channel.Message) { m.Subject += "\nBcc: x@y" }, reason: ReasonInvalidHeader},
		{name: "header value", edit: func(m *channel.Message) { m.Headers["List-Unsubscribe"] += evil }, reason: ReasonInvalidHeader},
		{name: "header name", edit: func(m *channel.Message) { m.Headers["X-A"+evil] = "v" }, reason: ReasonInvalidHeader},
		{name: "reserved header", edit: func(m *channel.Message) { m.Headers["bcc"] = "x@y" }, reason: ReasonInvalidHeader},
		{name: "attachment name", edit: func(m *channel.Message) { m.Attachments[0].Name += evil }, reason: ReasonInvalidHeader},
		{name: "to with display name", edit: func(m *channel.Message) { m.To = "Eve <x@y>" }, reason: ReasonInvalidAddress},
		{name: "to not an address", edit: func(m *channel.Message) { m.To = "nobody" }, reason: ReasonInvalidAddress},
		{name: "to with two addresses", edit: func(m *channel.Message) { m.To = "a@b, x@y" }, reason: ReasonInvalidAddress},
	}
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	dir := t.TempDir()
	ob := NewOutbox(dir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sender := range []channel.Sender{s, ob} {
				m := testMessage("INJ")
				tt.edit(m)
				_, err := sender.Send(context.Background(), m)
				if !channel.IsPermanent(err) {
					t.Fatalf("%T: err = %v, want permanent", sender, err)
				}
				if got := Reason(err); got != tt.reason {
					t.Errorf("%T: Reason = %q, want %q", sender, got, tt.reason)
				}
				if strings.Contains(err.Error(), "x@y") || strings.Contains(err.Error(), "alice") {
					t.Errorf("error leaks contact data: %v", err)
				}
			}
		})
	}
	if srv.Count() != 0 {
		t.Errorf("server accepted %d messages", srv.Count())
	}
}

// TestSMTPFailures runs each refusal against a relay that offers
// PIPELINING (MAIL, RCPT and DATA sent together, replies read in order)
// and one that does not (one command at a time).
func TestSMTPFailures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(srv *testenv.SMTPServer)
		permanent bool
		reason    string
		code      int
		stage     string
	}{
		{name: "550 on RCPT is a hard bounce", setup: func(srv *testenv.SMTPServer) { srv.FailRecipient("alice@example.org", 550) },
			permanent: true, reason: ReasonHardBounce, code: 550, stage: "rcpt"},
		{name: "452 on RCPT is deferred", setup: func(srv *testenv.SMTPServer) { srv.FailRecipient("alice@example.org", 452) },
			reason: ReasonDeferred, code: 452, stage: "rcpt"},
		{name: "550 on MAIL is rejected", setup: func(srv *testenv.SMTPServer) { srv.RejectNext(1, 550) },
			permanent: true, reason: ReasonRejected, code: 550, stage: "mail"},
		{name: "451 at the end of DATA is deferred", setup: func(srv *testenv.SMTPServer) { srv.FailNext(1, 451) },
			reason: ReasonDeferred, code: 451, stage: "data"},
		{name: "554 at the end of DATA is rejected", setup: func(srv *testenv.SMTPServer) { srv.FailNext(1, 554) },
			permanent: true, reason: ReasonRejected, code: 554, stage: "data"},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("pipelining=%v/%s", pipelining, tt.name), func(t *testing.T) {
				srv := testenv.StartSMTPWith(t, testenv.SMTPOptions{NoPipelining: !pipelining})
				s := newTestSender(t, srv, 1)
				tt.setup(srv)
				_, err := s.Send(context.Background(), testMessage("F-1"))
				if err == nil {
					t.Fatal("Send succeeded, want an error")
				}
				if channel.IsPermanent(err) != tt.permanent {
					t.Errorf("IsPermanent = %v, want %v (%v)", !tt.permanent, tt.permanent, err)
				}
				if Reason(err) != tt.reason {
					t.Errorf("Reason = %q, want %q", Reason(err), tt.reason)
				}
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.code || e.Stage != tt.stage {
					t.Errorf("error = %v, want code %d at %s", err, tt.code, tt.stage)
				}
				if strings.Contains(err.Error(), "alice") {
					t.Errorf("error leaks the address: %v", err)
				}
				// The session survives a refusal: after clearing the failure
				// the same connection delivers.
				srv.FailRecipient("alice@example.org", 0)
				if _, err := s.Send(context.Background(), testMessage("F-2")); err != nil {
					t.Fatalf("Send after failure: %v", err)
				}
				if srv.Count() != 1 || srv.Connections() != 1 {
					t.Errorf("count %d connections %d, want 1 and 1", srv.Count(), srv.Connections())
				}
			})
		}
		t.Run(fmt.Sprintf("pipelining=%v/reply lost after DATA is ambiguous", pipelining), func(t *testing.T) {
			srv := testenv.StartSMTPWith(t, testenv.SMTPOptions{NoPipelining: !pipelining})
			s := newTestSender(t, srv, 1)
			srv.LoseReplyAfterData(1)
			_, err := s.Send(context.Background(), testMessage("A-1"))
			if !errors.Is(err, channel.ErrAmbiguous) || Reason(err) != ReasonNoReply {
				t.Fatalf("err = %v, want ambiguous %s", err, ReasonNoReply)
			}
			if _, err := s.Send(context.Background(), testMessage("A-2")); err != nil {
				t.Fatalf("Send on a new connection: %v", err)
			}
			if srv.Count() != 2 || srv.Connections() != 2 {
				t.Errorf("count %d connections %d, want 2 and 2 (the relay kept the first)", srv.Count(), srv.Connections())
			}
		})
	}
}

func TestTemporaryThenSuccessOnRetry(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	srv.FailNext(1, 451)
	m := testMessage("R-1")
	_, err := s.Send(context.Background(), m)
	if err == nil || channel.IsPermanent(err) {
		t.Fatalf("first attempt: err = %v, want temporary", err)
	}
	rc, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !srv.WaitFor(1, 5*time.Second) {
		t.Fatal("message not received")
	}
	checkTestMessage(t, srv.Messages()[0].Data, rc.ProviderID)
}

func TestPoolReusesConnections(t *testing.T) {
	const pool, workers, total = 5, 20, 200
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, pool)
	var wg sync.WaitGroup
	ids := make(chan string, total)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / workers {
				rc, err := s.Send(context.Background(), testMessage(fmt.Sprintf("P-%d-%d", w, i)))
				if err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				ids <- rc.ProviderID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("duplicate Message-ID %s", id)
		}
		seen[id] = true
	}
	if srv.Count() != total || len(seen) != total {
		t.Fatalf("server got %d, ids %d, want %d", srv.Count(), len(seen), total)
	}
	if c := srv.Connections(); c < 1 || c > pool {
		t.Errorf("connections = %d, want 1..%d", c, pool)
	}
}

func TestRedialsStaleAndIdleConnections(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	send := func() {
		t.Helper()
		if _, err := s.Send(context.Background(), testMessage("S")); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	send()
	// A connection that died while idle (relay restart, NAT timeout) is
	// detected at MAIL FROM and replaced without failing the send.
	s.pool.mu.Lock()
	_ = s.pool.idle[0].raw.Close()
	s.pool.mu.Unlock()
	send()
	if srv.Connections() != 2 {
		t.Errorf("connections after stale = %d, want 2", srv.Connections())
	}
	// The janitor quits connections idle for too long; the next send dials.
	s.pool.closeIdle(time.Now().Add(time.Hour))
	if n := s.pool.openIdle(); n != 0 {
		t.Errorf("open idle connections = %d, want 0", n)
	}
	send()
	if srv.Connections() != 3 || srv.Count() != 3 {
		t.Errorf("connections %d count %d, want 3 and 3", srv.Connections(), srv.Count())
	}
}

func TestSendContextAndClose(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1, WithPerDomainRate(1000))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Send(ctx, testMessage("C-1")); !errors.Is(err, context.Canceled) || channel.IsPermanent(err) {
		t.Errorf("cancelled Send: %v", err)
	}
	if _, err := s.Send(context.Background(), testMessage("C-2")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Send(context.Background(), testMessage("C-3")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if srv.Count() != 1 {
		t.Errorf("count = %d, want 1", srv.Count())
	}
}

func TestUnreachableRelayIsTemporary(t *testing.T) {
	port := testenv.FreePort(t)
	s, err := New(Config{Host: "127.0.0.1", Port: port, TLS: TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Send(context.Background(), testMessage("U-1"))
	if err == nil || channel.IsPermanent(err) || Reason(err) != ReasonUnavailable {
		t.Fatalf("err = %v (reason %q), want temporary unavailable", err, Reason(err))
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantErr  bool
	}{
		{name: "right password", password: "s3cr3t-pw"},
		{name: "wrong password", password: "wr0ng-pw", wantErr: true},
	}
	srv := testenv.StartSMTPWith(t, testenv.SMTPOptions{Username: "relais", Password: "s3cr3t-pw"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseURL(strings.Replace(srv.URL(), "s3cr3t-pw", tt.password, 1))
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.Send(context.Background(), testMessage("A-1"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && (channel.IsPermanent(err) || strings.Contains(err.Error(), tt.password)) {
				t.Errorf("auth failure must be temporary and hide the password: %v", err)
			}
		})
	}
}
