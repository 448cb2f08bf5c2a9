package followup

import (
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// TestWhen evaluates when expressions with the event functions campaign
// validation declares, over one recipient's events.
func TestWhen(t *testing.T) {
	evs := eventSet{
		{StepID: "annonce", Type: store.EventOpened},
		{StepID: "annonce", Type: store.EventClicked, Machine: true},
		{StepID: "annonce", Type: store.EventDelivered},
		{StepID: "relance", Type: store.EventReplied},
	}
	c := &contact.Contact{FirstName: "Camille", Address: contact.Address{City: "Lyon"}, Attrs: map[string]any{"orders_12m": 4.0}}
	tests := []struct {
		name, when string
		want       bool
		wantErr    string
	}{
		{name: "opened", when: `opened("annonce")`, want: true},
		{name: "not opened other step", when: `opened("relance")`, want: false},
		{name: "machine click is no click", when: `clicked("annonce")`, want: false},
		{name: "delivered", when: `delivered("annonce")`, want: true},
		{name: "a reply is a response", when: `responded()`, want: true},
		{name: "not converted", when: `converted()`, want: false},
		{name: "not unsubscribed", when: `unsubscribed()`, want: false},
		{name: "contact fields", when: `city == "Lyon" and attrs.orders_12m >= 2 and not converted()`, want: true},
		{name: "run-time error names no data", when: `attrs.orders_12m + first_name == ""`, wantErr: "failed on this recipient's data"},
	}
	s := &Scheduler{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := &campaign.Spec{ID: "c", ContentHash: tt.name, Steps: []campaign.Step{{ID: "s", When: tt.when}}}
			got, err := s.eval(sp, &sp.Steps[0], c, evs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "Camille") {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s = %v, want %v", tt.when, got, tt.want)
			}
		})
	}
}

// TestNext: only the step right after an accepted one, and only when it
// is a follow-up, is scheduled from it.
func TestNext(t *testing.T) {
	sp := &campaign.Spec{Steps: []campaign.Step{{ID: "a"}, {ID: "b"}, {ID: "c", After: 1}, {ID: "d", When: "responded()"}}}
	tests := []struct{ name, step, want string }{
		{name: "next is a start step", step: "a", want: ""},
		{name: "after", step: "b", want: "c"},
		{name: "when only", step: "c", want: "d"},
		{name: "last", step: "d", want: ""},
		{name: "unknown", step: "x", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if n := Next(sp, tt.step); n != nil {
				got = n.ID
			}
			if got != tt.want {
				t.Errorf("Next(%s) = %q, want %q", tt.step, got, tt.want)
			}
		})
	}
	if !HasFollowups(sp) || HasFollowups(&campaign.Spec{Steps: sp.Steps[:2]}) {
		t.Error("HasFollowups")
	}
}
