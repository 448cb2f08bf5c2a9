package policy

import (
	"context"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

func TestDecideFrequencyCap(t *testing.T) {
	days := func(now time.Time, ds ...int) []time.Time {
		var ts []time.Time
		for _, d := range ds {
			ts = append(ts, now.Add(-time.Duration(d)*24*time.Hour))
		}
		return ts
	}
	tests := []struct {
		name    string
		sentAgo []int // days ago
		purpose string
		cap     *Cap
		id      int64
		verdict Verdict
		want    string
	}{
		{name: "two in a week", sentAgo: []int{1, 6}, verdict: Allow},
		{name: "three in a week", sentAgo: []int{1, 3, 6}, verdict: Deny, want: ReasonFrequencyCap},
		{name: "exactly 7 days ago still counts", sentAgo: []int{1, 3, 7}, verdict: Deny, want: ReasonFrequencyCap},
		{name: "the oldest fell out of the window", sentAgo: []int{1, 3, 8}, verdict: Allow},
		{name: "transactional ignores the cap", sentAgo: []int{0, 1, 2, 3, 4}, purpose: "transactional", verdict: Allow},
		{name: "campaign override raises it", sentAgo: []int{1, 2, 3}, cap: &Cap{N: 5, Per: 7 * 24 * time.Hour}, verdict: Allow},
		{name: "campaign override lowers it", sentAgo: []int{10}, cap: &Cap{N: 1, Per: 30 * 24 * time.Hour}, verdict: Deny, want: ReasonFrequencyCap},
		{name: "N 0 disables it", sentAgo: []int{0, 0, 0, 0}, cap: &Cap{}, verdict: Allow},
		{name: "unstored contact has no history", sentAgo: []int{1, 2, 3}, id: -1, verdict: Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			now := tuesday10(t)
			c := fullContact(contact.KindBusiness)
			lk.addSent(c.ID, days(now, tt.sentAgo...)...)
			if tt.id == -1 {
				c.ID = 0
			}
			in := Input{Contact: c, Channel: "email", Purpose: tt.purpose, FrequencyCap: tt.cap}
			got, err := newEngine(t, lk, now).Decide(context.Background(), in)
			check(t, got, err, tt.verdict, tt.want)
		})
	}
}

func TestDecideQuietHours(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	ny := mustLoc(t, "America/New_York")
	sunday10 := time.Date(2026, 3, 8, 10, 0, 0, 0, paris)
	monday8 := time.Date(2026, 3, 9, 8, 0, 0, 0, paris)
	tests := []struct {
		name     string
		now      time.Time
		channel  string
		purpose  string
		timezone string
		stage    Stage
		at       time.Time
		verdict  Verdict
		reason   string
		notAfter time.Time // expected NotBefore with Defer
	}{
		{name: "marketing sms on Sunday deferred", now: sunday10, channel: "sms", verdict: Defer, reason: ReasonQuietHours, notAfter: monday8},
		{name: "marketing mms on Sunday deferred", now: sunday10, channel: "mms", verdict: Defer, reason: ReasonQuietHours, notAfter: monday8},
		{name: "marketing email on Sunday sent", now: sunday10, channel: "email", verdict: Allow},
		{name: "marketing letter on Sunday sent", now: sunday10, channel: "print", verdict: Allow},
		{name: "transactional sms on Sunday never deferred", now: sunday10, channel: "sms", purpose: "transactional", verdict: Allow},
		{name: "marketing sms on Tuesday sent", now: time.Date(2026, 3, 10, 10, 0, 0, 0, paris), channel: "sms", verdict: Allow},
		{
			name: "recipient in New York judged in their zone", now: time.Date(2026, 3, 10, 13, 30, 0, 0, paris), // 08:30 in New York
			channel: "sms", timezone: "America/New_York", verdict: Allow,
		},
		{
			name: "early in New York deferred to 08:00 there", now: time.Date(2026, 3, 10, 11, 0, 0, 0, paris), // 06:00 in New York
			channel: "sms", timezone: "America/New_York", verdict: Defer, reason: ReasonQuietHours,
			notAfter: time.Date(2026, 3, 10, 8, 0, 0, 0, ny),
		},
		{name: "bad zone falls back to Paris", now: sunday10, channel: "sms", timezone: "Nowhere/Land", verdict: Defer, reason: ReasonQuietHours, notAfter: monday8},
		{
			name: "plan for a future Sunday deferred from that Sunday", now: time.Date(2026, 3, 4, 10, 0, 0, 0, paris),
			channel: "sms", stage: Plan, at: sunday10, verdict: Defer, reason: ReasonQuietHours, notAfter: monday8,
		},
		{
			name: "send stage ignores At", now: time.Date(2026, 3, 4, 10, 0, 0, 0, paris),
			channel: "sms", stage: Send, at: sunday10, verdict: Allow,
		},
		{
			name: "Ascension 2027", now: time.Date(2027, 5, 6, 10, 0, 0, 0, paris), channel: "sms",
			verdict: Defer, reason: ReasonQuietHours, notAfter: time.Date(2027, 5, 7, 8, 0, 0, 0, paris),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			c := fullContact(contact.KindBusiness)
			c.Timezone = tt.timezone
			in := Input{Contact: c, Channel: tt.channel, Purpose: tt.purpose, Stage: tt.stage, At: tt.at}
			got, err := newEngine(t, lk, tt.now).Decide(context.Background(), in)
			check(t, got, err, tt.verdict, tt.reason)
			if !got.NotBefore.Equal(tt.notAfter) {
				t.Errorf("NotBefore = %s, want %s", got.NotBefore, tt.notAfter)
			}
		})
	}
}

func TestDecideConsentSources(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		kind    string
		id      int64
		stored  contact.ConsentStatus // in the store (Unknown: nothing)
		cell    *bool                 // the contact's imported value
		verdict Verdict
		want    string
	}{
		{name: "unstored person with imported yes", kind: contact.KindPerson, cell: &yes, verdict: Allow},
		{name: "unstored person with imported no", kind: contact.KindPerson, cell: &no, verdict: Deny, want: ReasonOptedOut},
		{name: "unstored person with nothing", kind: contact.KindPerson, verdict: Deny, want: ReasonNoConsent},
		{name: "stored unknown falls back to the imported value", kind: contact.KindPerson, id: 7, cell: &yes, verdict: Allow},
		{name: "store wins over import", kind: contact.KindPerson, id: 7, stored: contact.Refused, cell: &yes, verdict: Deny, want: ReasonOptedOut},
		{name: "store grant wins over imported no", kind: contact.KindPerson, id: 7, stored: contact.Granted, cell: &no, verdict: Allow},
		{name: "empty kind is treated as a person", verdict: Deny, want: ReasonNoConsent},
		{name: "unknown kind is treated as a person", kind: "robot", verdict: Deny, want: ReasonNoConsent},
		{name: "business without record", kind: contact.KindBusiness, verdict: Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			c := fullContact(tt.kind)
			c.ID = tt.id
			if tt.cell != nil {
				c.Consent = map[string]*bool{"email": tt.cell}
			}
			if tt.stored != contact.Unknown {
				lk.setConsent(c.ID, "email", "marketing", tt.stored)
			}
			got, err := newEngine(t, lk, tuesday10(t)).Decide(context.Background(), Input{Contact: c, Channel: "email"})
			check(t, got, err, tt.verdict, tt.want)
		})
	}
}

func TestDecideConfiguredRules(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(r *Rules)
		kind    string
		channel string
		verdict Verdict
		want    string
	}{
		{name: "business sms switched to opt-in", edit: func(r *Rules) { r.Consent[contact.KindBusiness] = map[string]ConsentMode{"sms": OptIn} }, kind: contact.KindBusiness, channel: "sms", verdict: Deny, want: ReasonNoConsent},
		{name: "other business channels keep their default", edit: func(r *Rules) { r.Consent[contact.KindBusiness] = map[string]ConsentMode{"sms": OptIn} }, kind: contact.KindBusiness, channel: "email", verdict: Allow},
		{name: "letters closed to marketing", edit: func(r *Rules) { r.Consent[contact.KindPerson]["print"] = Never }, kind: contact.KindPerson, channel: "print", verdict: Deny, want: ReasonNoConsent},
		{name: "quiet hours off", edit: func(r *Rules) { r.QuietHours.Enabled = false }, kind: contact.KindBusiness, channel: "sms", verdict: Allow},
		{name: "quiet hours extended to email", edit: func(r *Rules) { r.QuietHours.Channels = []string{"email"} }, kind: contact.KindBusiness, channel: "email", verdict: Defer, want: ReasonQuietHours},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			tt.edit(&r)
			sunday := time.Date(2026, 3, 8, 10, 0, 0, 0, mustLoc(t, "Europe/Paris"))
			e, err := New(r, newMemLookup(), testSecret, func() time.Time { return sunday })
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Decide(context.Background(), Input{Contact: fullContact(tt.kind), Channel: tt.channel})
			check(t, got, err, tt.verdict, tt.want)
		})
	}
}
