package policy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

func TestNew(t *testing.T) {
	bad := DefaultRules()
	bad.OpenTracking = "sometimes"
	tests := []struct {
		name    string
		rules   Rules
		lookup  Lookup
		secret  []byte
		wantErr string
	}{
		{name: "ok", rules: DefaultRules(), lookup: newMemLookup(), secret: testSecret},
		{name: "invalid rules", rules: bad, lookup: newMemLookup(), secret: testSecret, wantErr: "open_tracking"},
		{name: "nil lookup", rules: DefaultRules(), secret: testSecret, wantErr: "nil lookup"},
		{name: "short secret", rules: DefaultRules(), lookup: newMemLookup(), secret: []byte("short"), wantErr: "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.rules, tt.lookup, tt.secret, nil)
			if tt.wantErr == "" {
				if err != nil || e == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecideErrors(t *testing.T) {
	errDown := errors.New("database is down")
	tests := []struct {
		name    string
		in      Input
		lookErr error
		want    error
	}{
		{name: "nil contact", in: Input{Channel: "email"}, want: ErrNoContact},
		{name: "unknown channel", in: Input{Contact: fullContact(contact.KindPerson), Channel: "fax"}, want: ErrUnknownChannel},
		{name: "unknown purpose", in: Input{Contact: fullContact(contact.KindPerson), Channel: "email", Purpose: "spam"}, want: ErrUnknownPurpose},
		{name: "lookup failure is returned, not a refusal", in: Input{Contact: fullContact(contact.KindPerson), Channel: "email"}, lookErr: errDown, want: errDown},
		{name: "lookup failure on transactional", in: Input{Contact: fullContact(contact.KindPerson), Channel: "sms", Purpose: "transactional"}, lookErr: errDown, want: errDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			lk.err = tt.lookErr
			d, err := newEngine(t, lk, tuesday10(t)).Decide(context.Background(), tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decide error = %v, want %v", err, tt.want)
			}
			if d.Verdict == Allow {
				t.Errorf("an error came with Allow")
			}
		})
	}
}

// TestErrorsCarryNoPII makes sure an address never reaches an error or a
// decision's detail, since both are logged and stored.
func TestErrorsCarryNoPII(t *testing.T) {
	c := fullContact(contact.KindPerson)
	lk := newMemLookup()
	lk.suppress(contact.SuppressionKeys(testSecret, c)[contact.AddrEmail], contact.SuppressHardBounce)
	e := newEngine(t, lk, tuesday10(t))
	d, err := e.Decide(context.Background(), Input{Contact: c, Channel: "email"})
	if err != nil {
		t.Fatal(err)
	}
	lk.err = errors.New("boom")
	_, err2 := e.Decide(context.Background(), Input{Contact: c, Channel: "sms"})
	for _, s := range []string{d.Detail, d.Reason, err2.Error()} {
		for _, pii := range []string{"Jeanne", "example", "+336", "République"} {
			if strings.Contains(s, pii) {
				t.Errorf("%q contains PII %q", s, pii)
			}
		}
	}
}

// TestDecideTwice is the plan-then-send scenario: a send allowed at plan time is
// refused at send time when an opt-out arrived in between.
func TestDecideTwice(t *testing.T) {
	lk := newMemLookup()
	c := fullContact(contact.KindPerson)
	lk.setConsent(c.ID, "sms", "marketing", contact.Granted)
	e := newEngine(t, lk, tuesday10(t))
	in := Input{Contact: c, Channel: "sms", Stage: Plan}
	d, err := e.Decide(context.Background(), in)
	check(t, d, err, Allow, "")

	// STOP received: the webhook suppresses the phone key.
	lk.suppress(e.SuppressionKey(contact.AddrPhone, c.Phone), contact.SuppressOptedOut)
	in.Stage = Send
	d, err = e.Decide(context.Background(), in)
	check(t, d, err, Deny, ReasonOptedOut)

	// The order confirmation still goes.
	in.Purpose = "transactional"
	d, err = e.Decide(context.Background(), in)
	check(t, d, err, Allow, "")
}

func TestTrackOpens(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		stored  contact.ConsentStatus
		id      int64
		want    bool
		lookErr error
	}{
		{name: "always", policy: TrackAlways, id: 1, want: true},
		{name: "never even with consent", policy: TrackNever, id: 1, stored: contact.Granted, want: false},
		{name: "with consent granted", policy: TrackWithConsent, id: 1, stored: contact.Granted, want: true},
		{name: "with consent unknown", policy: TrackWithConsent, id: 1, want: false},
		{name: "with consent refused", policy: TrackWithConsent, id: 1, stored: contact.Refused, want: false},
		{name: "with consent unstored contact", policy: TrackWithConsent, id: 0, want: false},
		{name: "with consent lookup error", policy: TrackWithConsent, id: 1, lookErr: errors.New("down")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			r.OpenTracking = tt.policy
			lk := newMemLookup()
			if tt.stored != contact.Unknown {
				lk.setConsent(tt.id, "email", contact.PurposeOpenTracking, tt.stored)
			}
			lk.err = tt.lookErr
			e, err := New(r, lk, testSecret, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.TrackOpens(context.Background(), &contact.Contact{ID: tt.id})
			if tt.lookErr != nil {
				if !errors.Is(err, tt.lookErr) {
					t.Fatalf("error = %v, want %v", err, tt.lookErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("TrackOpens = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestDecideConcurrent runs many decisions over one engine and lookup
// (go test -race checks the engine keeps no shared mutable state).
func TestDecideConcurrent(t *testing.T) {
	lk := newMemLookup()
	now := tuesday10(t)
	e := newEngine(t, lk, now)
	var wg sync.WaitGroup
	results := make([]Decision, 64)
	for i := range results {
		wg.Go(func() {
			c := fullContact(contact.KindPerson)
			c.ID = int64(i + 1)
			if i%2 == 0 {
				lk.setConsent(c.ID, "email", "marketing", contact.Granted)
			}
			lk.addSent(c.ID, now.Add(-time.Hour))
			d, err := e.Decide(context.Background(), Input{Contact: c, Channel: "email"})
			if err != nil {
				t.Error(err)
			}
			results[i] = d
		})
	}
	wg.Wait()
	for i, d := range results {
		want := Allow
		if i%2 == 1 {
			want = Deny
		}
		if d.Verdict != want {
			t.Errorf("contact %d: %s, want %s", i+1, d.Verdict, want)
		}
	}
}
