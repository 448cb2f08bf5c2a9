package twilio

import "testing"

func TestStatusOrdering(t *testing.T) {
	tests := []struct {
		name     string
		current  string
		next     string
		advances bool
	}{
		{name: "queued to sent", current: "queued", next: "sent", advances: true},
		{name: "accepted to queued", current: "accepted", next: "queued", advances: true},
		{name: "sending to delivered", current: "sending", next: "delivered", advances: true},
		{name: "nothing yet to queued", current: "", next: "queued", advances: true},
		{name: "late sent after delivered", current: "delivered", next: "sent", advances: false},
		{name: "duplicate delivered", current: "delivered", next: "delivered", advances: false},
		{name: "undelivered does not replace delivered", current: "delivered", next: "undelivered", advances: false},
		{name: "failed does not replace undelivered", current: "undelivered", next: "failed", advances: false},
		{name: "read follows delivered", current: "delivered", next: "read", advances: true},
		{name: "unknown status never advances", current: "queued", next: "teleported", advances: false},
		{name: "inbound status is not tracked", current: "", next: "received", advances: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Advances(tt.current, tt.next); got != tt.advances {
				t.Errorf("Advances(%q, %q) = %v, want %v", tt.current, tt.next, got, tt.advances)
			}
		})
	}
}

func TestStatusRankOrder(t *testing.T) {
	order := []string{"accepted", "queued", "sending", "sent", "delivered", "read"}
	for i := 1; i < len(order); i++ {
		if StatusRank(order[i-1]) >= StatusRank(order[i]) {
			t.Errorf("rank(%s)=%d is not below rank(%s)=%d", order[i-1], StatusRank(order[i-1]), order[i], StatusRank(order[i]))
		}
	}
}

func TestFinalState(t *testing.T) {
	tests := []struct {
		name   string
		status string
		state  string
		final  bool
	}{
		{name: "queued", status: "queued", state: StateAccepted},
		{name: "accepted", status: "accepted", state: StateAccepted},
		{name: "sending", status: "sending", state: StateAccepted},
		{name: "sent", status: "sent", state: StateSent},
		{name: "delivered", status: "delivered", state: StateDelivered, final: true},
		{name: "read", status: "read", state: StateDelivered, final: true},
		{name: "undelivered is a bounce", status: "undelivered", state: StateBounced, final: true},
		{name: "failed", status: "failed", state: StateFailed, final: true},
		{name: "canceled", status: "canceled", state: StateFailed, final: true},
		{name: "unknown", status: "bogus", state: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, final := FinalState(tt.status)
			if state != tt.state || final != tt.final {
				t.Errorf("FinalState(%q) = (%q, %v), want (%q, %v)", tt.status, state, final, tt.state, tt.final)
			}
		})
	}
}
