package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// TestDecideConsentMatrix covers every kind × channel × purpose × consent
// state with the default rules, at an open moment and below the cap, so
// only the consent rule speaks.
func TestDecideConsentMatrix(t *testing.T) {
	const allow = ""
	// want[kind][channel] lists the expected reason for consent
	// Granted, Unknown, Refused on marketing ("" = Allow).
	want := map[string]map[string][3]string{
		contact.KindPerson: {
			"email": {allow, ReasonNoConsent, ReasonOptedOut},
			"sms":   {allow, ReasonNoConsent, ReasonOptedOut},
			"mms":   {allow, ReasonNoConsent, ReasonOptedOut},
			"print": {allow, allow, ReasonOptedOut},
		},
		contact.KindBusiness: {
			"email": {allow, allow, ReasonOptedOut},
			"sms":   {allow, allow, ReasonOptedOut},
			"mms":   {allow, allow, ReasonOptedOut},
			"print": {allow, allow, ReasonOptedOut},
		},
	}
	type tc struct {
		name    string
		kind    string
		channel string
		purpose string
		state   contact.ConsentStatus
		reason  string
	}
	var tests []tc
	states := []contact.ConsentStatus{contact.Granted, contact.Unknown, contact.Refused}
	for kind, chans := range want {
		for ch, reasons := range chans {
			for i, st := range states {
				tests = append(tests,
					tc{name: fmt.Sprintf("%s/%s/marketing/%d", kind, ch, st), kind: kind, channel: ch, purpose: "marketing", state: st, reason: reasons[i]},
					// Transactional never consults marketing consent.
					tc{name: fmt.Sprintf("%s/%s/transactional/%d", kind, ch, st), kind: kind, channel: ch, purpose: "transactional", state: st, reason: allow},
				)
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			c := fullContact(tt.kind)
			if tt.state != contact.Unknown {
				lk.setConsent(c.ID, ConsentChannel(tt.channel), "marketing", tt.state)
			}
			e := newEngine(t, lk, tuesday10(t))
			got, err := e.Decide(context.Background(), Input{Contact: c, Channel: tt.channel, Purpose: tt.purpose, Stage: Send})
			verdict := Allow
			if tt.reason != allow {
				verdict = Deny
			}
			check(t, got, err, verdict, tt.reason)
		})
	}
}

func TestDecideSuppression(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		addr    string // address channel whose key is suppressed
		reason  string // suppression list reason
		purpose string
		verdict Verdict
		want    string
	}{
		{name: "marketing email hard bounce", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressHardBounce, purpose: "marketing", verdict: Deny, want: ReasonSuppressed},
		{name: "transactional email hard bounce", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressHardBounce, purpose: "transactional", verdict: Deny, want: ReasonSuppressed},
		{name: "marketing email opted out", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressOptedOut, purpose: "marketing", verdict: Deny, want: ReasonOptedOut},
		{name: "transactional email opted out still sent", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressOptedOut, purpose: "transactional", verdict: Allow},
		{name: "marketing email erased", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressErased, purpose: "marketing", verdict: Deny, want: ReasonErased},
		{name: "transactional email erased", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressErased, purpose: "transactional", verdict: Deny, want: ReasonErased},
		{name: "marketing email manual", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressManual, purpose: "marketing", verdict: Deny, want: ReasonSuppressed},
		{name: "transactional unknown reason fails closed", channel: "email", addr: contact.AddrEmail, reason: "spam_trap", purpose: "transactional", verdict: Deny, want: ReasonSuppressed},
		{name: "marketing email complaint", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressComplaint, purpose: "marketing", verdict: Deny, want: ReasonOptedOut},
		{name: "transactional email complaint still sent", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressComplaint, purpose: "transactional", verdict: Allow},
		{name: "transactional email soft bounces", channel: "email", addr: contact.AddrEmail, reason: contact.SuppressSoftBounce, purpose: "transactional", verdict: Deny, want: ReasonSuppressed},
		{name: "sms STOP stops mms too", channel: "mms", addr: contact.AddrPhone, reason: contact.SuppressOptedOut, purpose: "marketing", verdict: Deny, want: ReasonOptedOut},
		{name: "marketing sms hard bounce", channel: "sms", addr: contact.AddrPhone, reason: contact.SuppressHardBounce, purpose: "marketing", verdict: Deny, want: ReasonSuppressed},
		{name: "transactional sms opted out still sent", channel: "sms", addr: contact.AddrPhone, reason: contact.SuppressOptedOut, purpose: "transactional", verdict: Allow},
		{name: "print opted out", channel: "print", addr: contact.AddrPostal, reason: contact.SuppressOptedOut, purpose: "marketing", verdict: Deny, want: ReasonOptedOut},
		{name: "print returned mail", channel: "print", addr: contact.AddrPostal, reason: contact.SuppressHardBounce, purpose: "transactional", verdict: Deny, want: ReasonSuppressed},
		{name: "email suppression does not touch sms", channel: "sms", addr: contact.AddrEmail, reason: contact.SuppressOptedOut, purpose: "marketing", verdict: Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			c := fullContact(contact.KindPerson)
			for _, cch := range []string{"email", "sms", "postal"} {
				lk.setConsent(c.ID, cch, "marketing", contact.Granted)
			}
			// The key is computed the way the bounce/STOP/forget code
			// will: from the normalized address.
			lk.suppress(contact.SuppressionKeys(testSecret, c)[tt.addr], tt.reason)
			e := newEngine(t, lk, tuesday10(t))
			got, err := e.Decide(context.Background(), Input{Contact: c, Channel: tt.channel, Purpose: tt.purpose})
			check(t, got, err, tt.verdict, tt.want)
			if tt.verdict == Deny && got.Detail != tt.reason {
				t.Errorf("detail = %q, want the list's reason %q", got.Detail, tt.reason)
			}
		})
	}
}

func TestDecideAddress(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		purpose string
		edit    func(c *contact.Contact)
		in      func(in *Input)
		want    string
	}{
		{name: "no email", channel: "email", edit: func(c *contact.Contact) { c.Email = "" }, want: ReasonNoAddress},
		{name: "blank email", channel: "email", edit: func(c *contact.Contact) { c.Email = "  " }, want: ReasonNoAddress},
		{name: "email without domain", channel: "email", edit: func(c *contact.Contact) { c.Email = "jeanne@" }, want: ReasonInvalidAddress},
		{name: "email without dot in domain", channel: "email", edit: func(c *contact.Contact) { c.Email = "jeanne@localhost" }, want: ReasonInvalidAddress},
		{name: "email with a display name", channel: "email", edit: func(c *contact.Contact) { c.Email = "Jeanne <j@example.fr>" }, want: ReasonInvalidAddress},
		{name: "two emails in a cell", channel: "email", edit: func(c *contact.Contact) { c.Email = "a@example.fr, b@example.fr" }, want: ReasonInvalidAddress},
		{name: "transactional invalid email", channel: "email", purpose: "transactional", edit: func(c *contact.Contact) { c.Email = "jeanne.example.fr" }, want: ReasonInvalidAddress},
		{name: "no phone for sms", channel: "sms", edit: func(c *contact.Contact) { c.Phone = "" }, want: ReasonNoAddress},
		{name: "national phone not E.164", channel: "sms", edit: func(c *contact.Contact) { c.Phone = "06 12 34 56 78" }, want: ReasonInvalidAddress},
		{name: "phone kept raw by the import", channel: "sms", edit: func(c *contact.Contact) { c.Phone, c.PhoneRaw = "", "06 12" }, want: ReasonInvalidAddress},
		{name: "email domain ending with a dot", channel: "email", edit: func(c *contact.Contact) { c.Email = "jeanne@example." }, want: ReasonInvalidAddress},
		{name: "no phone for transactional mms", channel: "mms", purpose: "transactional", edit: func(c *contact.Contact) { c.Phone = "" }, want: ReasonNoAddress},
		{name: "no postal address", channel: "print", edit: func(c *contact.Contact) { c.Address = contact.Address{} }, want: ReasonNoAddress},
		{name: "postal without postcode", channel: "print", edit: func(c *contact.Contact) { c.Address.Postcode = "" }, want: ReasonInvalidAddress},
		{name: "postal without city", channel: "print", edit: func(c *contact.Contact) { c.Address.City = "" }, want: ReasonInvalidAddress},
		{name: "caller says invalid", channel: "email", in: func(in *Input) { in.AddressInvalid = true }, want: ReasonInvalidAddress},
		{name: "erased wins over everything", channel: "email", edit: func(c *contact.Contact) { c.Email = "" }, in: func(in *Input) { in.Erased = true }, want: ReasonErased},
		{name: "transactional erased", channel: "sms", purpose: "transactional", in: func(in *Input) { in.Erased = true }, want: ReasonErased},
		{name: "stored contact erased (ErasedAt)", channel: "print", purpose: "transactional", edit: func(c *contact.Contact) {
			c.ErasedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		}, want: ReasonErased},
		{name: "duplicate", channel: "email", in: func(in *Input) { in.Duplicate = true }, want: ReasonDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			c := fullContact(contact.KindBusiness) // opt-out rules: only the address speaks
			if tt.edit != nil {
				tt.edit(c)
			}
			in := Input{Contact: c, Channel: tt.channel, Purpose: tt.purpose}
			if tt.in != nil {
				tt.in(&in)
			}
			got, err := newEngine(t, lk, tuesday10(t)).Decide(context.Background(), in)
			check(t, got, err, Deny, tt.want)
		})
	}
}

// TestDecideOrder checks that when several rules refuse, the recorded
// reason is the earliest in the documented order.
func TestDecideOrder(t *testing.T) {
	tests := []struct {
		name  string
		setup func(lk *memLookup, c *contact.Contact)
		in    func(in *Input)
		want  string
	}{
		{
			name: "erased before suppressed",
			setup: func(lk *memLookup, c *contact.Contact) {
				lk.suppress(contact.SuppressionKeys(testSecret, c)[contact.AddrEmail], contact.SuppressHardBounce)
			},
			in:   func(in *Input) { in.Erased = true },
			want: ReasonErased,
		},
		{
			name: "invalid address before suppressed",
			setup: func(lk *memLookup, c *contact.Contact) {
				lk.suppress(contact.SuppressionKeys(testSecret, c)[contact.AddrEmail], contact.SuppressHardBounce)
			},
			in:   func(in *Input) { in.AddressInvalid = true },
			want: ReasonInvalidAddress,
		},
		{
			name: "suppressed before no consent",
			setup: func(lk *memLookup, c *contact.Contact) {
				lk.suppress(contact.SuppressionKeys(testSecret, c)[contact.AddrEmail], contact.SuppressHardBounce)
			},
			want: ReasonSuppressed,
		},
		{name: "no consent before frequency cap", want: ReasonNoConsent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk := newMemLookup()
			c := fullContact(contact.KindPerson) // no consent recorded
			now := tuesday10(t)
			lk.addSent(c.ID, now.AddDate(0, 0, -1), now.AddDate(0, 0, -2), now.AddDate(0, 0, -3))
			if tt.setup != nil {
				tt.setup(lk, c)
			}
			in := Input{Contact: c, Channel: "email"}
			if tt.in != nil {
				tt.in(&in)
			}
			got, err := newEngine(t, lk, now).Decide(context.Background(), in)
			check(t, got, err, Deny, tt.want)
		})
	}
}
