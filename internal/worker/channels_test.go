package worker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/relais-dev/relais/internal/channel/builtin"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/worker"
)

// lockedBuffer is a log sink safe for concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAccountRefusalPausesChannel: a relay refusing AUTH (535) puts the
// row back to planned and pauses the email channel, with one error log
// naming the setting; a second send of the channel is requeued without
// being claimed or reaching the relay; neither uses up a retry. The probe
// keeps the channel paused while the relay refuses, resumes it once the
// relay accepts, and both rows are then sent once.
func TestAccountRefusalPausesChannel(t *testing.T) {
	f := setup(t, "hello")
	relay := testenv.StartSMTPWith(t, testenv.SMTPOptions{Username: "relais", Password: "pw-0123"})
	relay.RefuseAuth(true)
	cfg, err := email.ParseURL(relay.URL())
	if err != nil {
		t.Fatal(err)
	}
	es, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	reg := builtin.Channels()
	if err := reg.AddSender(emailch.Name, es); err != nil {
		t.Fatal(err)
	}
	f.w.Channels = reg
	var logs lockedBuffer
	f.w.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()

	first, second := f.row(t, store.Planned), f.otherRow(t)
	err = f.handle(first)
	var rq *worker.Requeue
	if !errors.As(err, &rq) || worker.IsFailure(err) {
		t.Fatalf("send refused by the relay's AUTH: %v, want a requeue that is not a failure", err)
	}
	if r := f.state(t, first); r.State != store.Planned || !strings.Contains(r.Error, "smtp 535") {
		t.Fatalf("row after the refusal: %s %q, want planned with the 535", r.State, r.Error)
	}
	ps, err := f.st.ChannelPauses(ctx)
	if err != nil || len(ps) != 1 || ps[0].Channel != emailch.Name || ps[0].Setting != email.AccountSetting {
		t.Fatalf("channel pauses %+v, %v; want email naming %q", ps, err, email.AccountSetting)
	}
	refused := relay.AuthFailures()
	err = f.handle(second)
	if !errors.As(err, &rq) || worker.IsFailure(err) {
		t.Fatalf("send on the paused channel: %v, want a requeue", err)
	}
	if r := f.state(t, second); r.State != store.Planned || r.Attempts != 0 {
		t.Fatalf("second row: %s after %d attempts, want planned and never claimed", r.State, r.Attempts)
	}
	if relay.AuthFailures() != refused || relay.Count() != 0 {
		t.Fatalf("relay saw %d more AUTH and %d messages while paused, want none", relay.AuthFailures()-refused, relay.Count())
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "RELAIS_SMTP_URL") {
		t.Fatalf("%d error lines, want one naming RELAIS_SMTP_URL:\n%s", n, logs.String())
	}

	if resumed, err := f.w.ProbeChannels(ctx); err != nil || len(resumed) != 0 {
		t.Fatalf("probe while the relay refuses: resumed %v, %v; want nothing", resumed, err)
	}
	relay.RefuseAuth(false)
	if resumed, err := f.w.ProbeChannels(ctx); err != nil || len(resumed) != 1 || resumed[0] != emailch.Name {
		t.Fatalf("probe once the relay accepts: resumed %v, %v; want email", resumed, err)
	}
	for _, id := range []string{first, second} {
		if err := f.handle(id); err != nil {
			t.Fatalf("send after the resume: %v", err)
		}
		if r := f.state(t, id); r.State != store.Accepted {
			t.Fatalf("row %s after the resume: %s, want accepted", id, r.State)
		}
	}
	if relay.Count() != 2 {
		t.Fatalf("relay accepted %d messages, want 2", relay.Count())
	}
}
