package email

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/testenv"
)

func TestThrottlePerDomain(t *testing.T) {
	// One message per hour per domain: the first to a domain passes, a
	// second one to the same domain cannot within any short deadline, and
	// rate.Limiter says so at once instead of sleeping.
	tests := []struct {
		name   string
		to     string
		passes bool
	}{
		{name: "first to example.fr", to: "a@example.fr", passes: true},
		{name: "same domain, other case", to: "b@EXAMPLE.fr", passes: false},
		{name: "other domain", to: "c@example.org", passes: true},
		{name: "subdomain is its own domain", to: "d@mail.example.fr", passes: true},
	}
	th := newThrottle(1.0 / 3600)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := th.wait(ctx, tt.to)
			if (err == nil) != tt.passes {
				t.Errorf("wait(%s) = %v, want passes=%v", tt.to, err, tt.passes)
			}
		})
	}
}

func TestThrottleEvictsIdleDomains(t *testing.T) {
	th := newThrottle(1e6) // refills at once: every limiter is idle
	for i := range maxDomains + 10 {
		if err := th.wait(context.Background(), fmt.Sprintf("x@d%d.example", i)); err != nil {
			t.Fatal(err)
		}
	}
	th.mu.Lock()
	n := len(th.limiters)
	th.mu.Unlock()
	if n > maxDomains {
		t.Errorf("%d limiters kept, want at most %d", n, maxDomains)
	}
}

func TestSenderThrottledSendIsTemporary(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 2, WithPerDomainRate(1.0/3600))
	if _, err := s.Send(context.Background(), testMessage("TH-1")); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.Send(ctx, testMessage("TH-2"))
	if err == nil || channel.IsPermanent(err) {
		t.Fatalf("second Send = %v, want a temporary throttling error", err)
	}
	if srv.Count() != 1 {
		t.Errorf("count = %d, want 1", srv.Count())
	}
}
