package email

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/testenv"
)

func TestTLSModes(t *testing.T) {
	serverTLS, clientTLS := testenv.LoopbackTLS(t)
	tests := []struct {
		name     string
		opts     testenv.SMTPOptions
		trust    bool
		wantSend bool
	}{
		{name: "starttls with auth", opts: testenv.SMTPOptions{TLSConfig: serverTLS, Username: "relais", Password: "pw"},
			trust: true, wantSend: true},
		{name: "implicit tls with auth", opts: testenv.SMTPOptions{TLSConfig: serverTLS, ImplicitTLS: true,
			Username: "relais", Password: "pw"}, trust: true, wantSend: true},
		{name: "starttls with untrusted certificate", opts: testenv.SMTPOptions{TLSConfig: serverTLS}},
		{name: "implicit tls with untrusted certificate", opts: testenv.SMTPOptions{TLSConfig: serverTLS, ImplicitTLS: true}},
		{name: "starttls required but not offered", opts: testenv.SMTPOptions{}, trust: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.StartSMTPWith(t, tt.opts)
			raw := srv.URL()
			if tt.opts.TLSConfig == nil {
				raw = "smtp://" + srv.Addr() + "?tls=starttls"
			}
			cfg, err := ParseURL(raw)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Timeout = 5 * time.Second
			var opts []Option
			if tt.trust {
				opts = append(opts, WithTLSConfig(clientTLS))
			}
			s, err := New(cfg, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := range 2 {
				_, err = s.Send(context.Background(), testMessage("TLS"))
				if tt.wantSend && err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				if !tt.wantSend && (err == nil || channel.IsPermanent(err) || Reason(err) != ReasonUnavailable) {
					t.Fatalf("Send %d: err = %v, want temporary unavailable", i, err)
				}
			}
			if tt.wantSend && (srv.Count() != 2 || srv.Connections() != 1) {
				t.Errorf("count %d connections %d, want 2 over 1", srv.Count(), srv.Connections())
			}
		})
	}
}

func TestCancelWhileWaitingForConnection(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	// Hold the only connection, as a slow send would.
	c, err := s.pool.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Send(ctx, testMessage("W-1"))
		done <- err
	}()
	cancel()
	if err := <-done; err == nil || channel.IsPermanent(err) || ctx.Err() == nil {
		t.Fatalf("Send = %v, want the cancellation", err)
	}
	s.pool.put(c, false)
	if _, err := s.Send(context.Background(), testMessage("W-2")); err != nil {
		t.Fatalf("Send after release: %v", err)
	}
	if srv.Count() != 1 {
		t.Errorf("count = %d, want 1", srv.Count())
	}
}

func TestCancelDuringData(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	entered, release := srv.HoldData()
	t.Cleanup(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Send(ctx, testMessage("X-1"))
		done <- err
	}()
	<-entered // the relay has the whole message and has not answered
	cancel()
	err := <-done // returns without the relay's answer
	if !errors.Is(err, context.Canceled) || channel.IsPermanent(err) || !channel.IsAmbiguous(err) {
		t.Fatalf("Send = %v, want context.Canceled and an unknown outcome", err)
	}
	release()
	// The interrupted connection is not reused: the next send dials anew.
	if _, err := s.Send(context.Background(), testMessage("X-2")); err != nil {
		t.Fatalf("Send after cancel: %v", err)
	}
	if srv.Connections() != 2 {
		t.Errorf("connections = %d, want 2", srv.Connections())
	}
}
