package twiliohook_test

import (
	"time"

	"testing"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/twiliohook"
)

type callback struct {
	status string
	code   int
}

func TestSMSStatus(t *testing.T) {
	tests := []struct {
		name       string
		callbacks  []callback
		wantState  store.State
		wantReason string
		wantEvents map[string]int
		suppressed string
	}{
		{"delivered", []callback{{"queued", 0}, {"sent", 0}, {"delivered", 0}}, store.Delivered, "",
			map[string]int{store.EventDelivered: 1}, ""},
		{"replayed delivered", []callback{{"delivered", 0}, {"delivered", 0}}, store.Delivered, "",
			map[string]int{store.EventDelivered: 1}, ""},
		{"older status after delivered", []callback{{"delivered", 0}, {"sent", 0}, {"queued", 0}}, store.Delivered, "",
			map[string]int{store.EventDelivered: 1}, ""},
		{"read after delivered", []callback{{"delivered", 0}, {"read", 0}}, store.Delivered, "",
			map[string]int{store.EventDelivered: 1}, ""},
		{"second final status ignored", []callback{{"delivered", 0}, {"undelivered", 30005}}, store.Delivered, "",
			map[string]int{store.EventDelivered: 1}, ""},
		{"not final", []callback{{"queued", 0}, {"sent", 0}}, store.Accepted, "", map[string]int{}, ""},
		{"unknown status", []callback{{"exploded", 0}}, store.Accepted, "", map[string]int{}, ""},
		{"undelivered unknown handset", []callback{{"sent", 0}, {"undelivered", 30005}}, store.Bounced, "30005",
			map[string]int{store.EventBounced: 1}, contact.SuppressHardBounce},
		{"undelivered landline", []callback{{"undelivered", 30006}}, store.Bounced, "30006",
			map[string]int{store.EventBounced: 1}, contact.SuppressHardBounce},
		{"undelivered blocked", []callback{{"undelivered", 30004}, {"undelivered", 30004}}, store.Bounced, "30004",
			map[string]int{store.EventBounced: 1}, contact.SuppressOptedOut},
		{"undelivered handset off", []callback{{"undelivered", 30003}}, store.Bounced, "30003",
			map[string]int{store.EventBounced: 1}, ""},
		{"failed unsubscribed recipient", []callback{{"failed", 21610}}, store.Failed, "21610",
			map[string]int{store.EventFailed: 1}, contact.SuppressOptedOut},
		{"failed landline", []callback{{"failed", 21614}}, store.Failed, "21614",
			map[string]int{store.EventFailed: 1}, contact.SuppressHardBounce},
		{"failed invalid number", []callback{{"failed", 21211}, {"failed", 21211}}, store.Failed, "21211",
			map[string]int{store.EventFailed: 1}, contact.SuppressHardBounce},
		{"canceled then failed", []callback{{"canceled", 0}, {"failed", 0}}, store.Failed, "",
			map[string]int{store.EventFailed: 1}, ""},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					f := newFixture(t, b.open(t))
					const phone = "+33612345678"
					row := f.sent(t, "s1", "sms", f.contact(t, "c1", phone), "SM00000000000000000000000000000001", 0)
					for _, cb := range tc.callbacks {
						if err := f.sink.SMSStatus(t.Context(), row.ProviderID, cb.status, cb.code); err != nil {
							t.Fatalf("SMSStatus(%s, %d): %v", cb.status, cb.code, err)
						}
					}
					got := f.ledger(t, row.ID)
					if got.State != tc.wantState || got.Reason != tc.wantReason {
						t.Errorf("ledger %s (reason %q), want %s (reason %q)", got.State, got.Reason, tc.wantState, tc.wantReason)
					}
					evs := f.events(t)
					if len(evs) != len(tc.wantEvents) {
						t.Errorf("events %v, want %v", evs, tc.wantEvents)
					}
					for typ, n := range tc.wantEvents {
						if len(evs[typ]) != n {
							t.Errorf("%d %s events, want %d", len(evs[typ]), typ, n)
							continue
						}
						e := evs[typ][0]
						if e.LedgerID != row.ID || e.ContactID != row.ContactID || e.Channel != "sms" || !e.At.Equal(f.now) {
							t.Errorf("event %+v not on ledger row %s at %s", e, row.ID, f.now)
						}
					}
					if s := f.suppression(t, phone); s != tc.suppressed {
						t.Errorf("suppression %q, want %q", s, tc.suppressed)
					}
				})
			}
		})
	}
}

// An unknown SID is acknowledged (Twilio would otherwise retry it for
// days) and changes nothing.
func TestSMSStatusUnknownSID(t *testing.T) {
	f := newFixture(t, backends[0].open(t))
	row := f.sent(t, "s1", "sms", f.contact(t, "c1", "+33612345678"), "SM1", 0)
	if err := f.sink.SMSStatus(t.Context(), "SMunknown", "delivered", 0); err != nil {
		t.Fatalf("SMSStatus: %v", err)
	}
	if got := f.ledger(t, row.ID); got.State != store.Accepted {
		t.Errorf("ledger %s, want accepted", got.State)
	}
	if evs := f.events(t); len(evs) != 0 {
		t.Errorf("events %v, want none", evs)
	}
}

func TestOptOut(t *testing.T) {
	const shared, other, stranger = "+33612345678", "+33698765432", "+33700000001"
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			f := newFixture(t, st)
			parent, child, neighbour := f.contact(t, "p", shared), f.contact(t, "c", shared), f.contact(t, "n", other)
			f.sent(t, "s1", "sms", parent, "SM1", 3*time.Hour)
			latest := f.sent(t, "s2", "mms", child, "MM2", time.Hour)
			f.sent(t, "s3", "email", child, "<m@example.org>", 0) // newer, but not a text
			f.sent(t, "s1", "sms", neighbour, "SM3", 0)

			for range 2 { // the second is Twilio retrying the same webhook
				if err := f.sink.OptOut(t.Context(), shared, "Arrêt", "SMin1"); err != nil {
					t.Fatalf("OptOut: %v", err)
				}
			}
			if err := f.sink.OptOut(t.Context(), stranger, "STOP", "SMin2"); err != nil {
				t.Fatalf("OptOut from a number with no contact: %v", err)
			}

			engine, err := policy.New(policy.DefaultRules(), st, secret, func() time.Time { return f.now })
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			tests := []struct {
				name        string
				contactID   int64
				phone       string
				purpose     string
				ch          string
				wantVerdict policy.Verdict
				wantReason  string
			}{
				{"marketing sms to the number", parent, shared, contact.PurposeMarketing, "sms", policy.Deny, policy.ReasonOptedOut},
				{"marketing mms to the number", child, shared, contact.PurposeMarketing, "mms", policy.Deny, policy.ReasonOptedOut},
				{"transactional sms still owed", parent, shared, contact.PurposeTransactional, "sms", policy.Allow, ""},
				{"unknown number opted out too", 0, stranger, contact.PurposeMarketing, "sms", policy.Deny, policy.ReasonOptedOut},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					c := &contact.Contact{ID: tc.contactID, Phone: tc.phone, Kind: contact.KindPerson,
						Consent: map[string]*bool{"sms": ptr(true)}}
					d, err := engine.Decide(t.Context(), policy.Input{Contact: c, Channel: tc.ch, Purpose: tc.purpose})
					if err != nil {
						t.Fatalf("Decide: %v", err)
					}
					if d.Verdict != tc.wantVerdict || d.Reason != tc.wantReason {
						t.Errorf("Decide = %s %q, want %s %q", d.Verdict, d.Reason, tc.wantVerdict, tc.wantReason)
					}
				})
			}

			for _, id := range []int64{parent, child} {
				cs, err := st.Consent(t.Context(), id, "sms", "marketing")
				if err != nil {
					t.Fatalf("Consent: %v", err)
				}
				if cs.Status != contact.Refused || cs.Source != twiliohook.OptOutSource || cs.Text != "Arrêt" || !cs.At.Equal(f.now) {
					t.Errorf("contact %d consent %+v, want refused by sms:inbound with the keyword as proof", id, cs)
				}
			}
			if cs, _ := st.Consent(t.Context(), neighbour, "sms", "marketing"); cs.Source == twiliohook.OptOutSource {
				t.Errorf("neighbour's consent changed: %+v", cs)
			}
			if s := f.suppression(t, other); s != "" {
				t.Errorf("other number suppressed: %s", s)
			}

			unsub := f.events(t)[store.EventUnsubscribed]
			if len(unsub) != 1 {
				t.Fatalf("%d unsubscribed events, want 1 (replay deduplicated, none for the stranger)", len(unsub))
			}
			if unsub[0].LedgerID != latest.ID || unsub[0].DedupeKey != "twilio:in:SMin1" {
				t.Errorf("unsubscribed on %s (key %q), want the latest text %s", unsub[0].LedgerID, unsub[0].DedupeKey, latest.ID)
			}
		})
	}
}

func TestReply(t *testing.T) {
	const phone = "+33612345678"
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			id := f.contact(t, "c", phone)
			f.sent(t, "s1", "mms", id, "MM1", 2*time.Hour)
			latest := f.sent(t, "s2", "sms", id, "SM2", time.Hour)
			f.sent(t, "s3", "email", id, "<m@example.org>", 0)

			tests := []struct {
				name, from, body, sid string
			}{
				{"reply", phone, "Oui, je viens samedi 😀", "SMin1"},
				{"replayed reply", phone, "Oui, je viens samedi 😀", "SMin1"},
				{"second reply", phone, "Et mon fils aussi", "SMin2"},
				{"unknown number", "+33700000001", "Qui est-ce ?", "SMin3"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if err := f.sink.Reply(t.Context(), tc.from, tc.body, tc.sid); err != nil {
						t.Fatalf("Reply: %v", err)
					}
				})
			}
			replies := f.events(t)[store.EventReplied]
			if len(replies) != 2 {
				t.Fatalf("%d replied events, want 2: %+v", len(replies), replies)
			}
			want := map[string]string{"twilio:in:SMin1": "Oui, je viens samedi 😀", "twilio:in:SMin2": "Et mon fils aussi"}
			for _, e := range replies {
				if e.LedgerID != latest.ID || e.Detail != want[e.DedupeKey] {
					t.Errorf("reply %q on %s, want %q on %s", e.Detail, e.LedgerID, want[e.DedupeKey], latest.ID)
				}
			}
			if s := f.suppression(t, phone); s != "" {
				t.Errorf("a reply suppressed the number: %s", s)
			}
		})
	}
}

func ptr(b bool) *bool { return &b }
