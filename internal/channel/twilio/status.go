package twilio

// Ledger states FinalState maps Twilio statuses to.
const (
	StateAccepted  = "accepted"  // Twilio has the message (accepted, scheduled, queued, sending)
	StateSent      = "sent"      // handed to the carrier
	StateDelivered = "delivered" // the handset confirmed (delivered, read)
	StateBounced   = "bounced"   // the carrier could not deliver (undelivered)
	StateFailed    = "failed"    // Twilio could not send it (failed, canceled)
)

// statusRank orders Twilio's outbound statuses. Twilio may post callbacks
// twice or out of order (a "sent" after "delivered"), so a callback is
// applied only when it ranks above what the ledger has. All final statuses
// share a rank so one final state never overwrites another, except "read",
// which only follows "delivered" on channels that report it.
var statusRank = map[string]int{
	"accepted":            1,
	"scheduled":           1,
	"queued":              2,
	"sending":             3,
	"sent":                4,
	"delivered":           5,
	"undelivered":         5,
	"failed":              5,
	"canceled":            5,
	"partially_delivered": 5,
	"read":                6,
}

// StatusRank returns the rank of a Twilio message status (higher is later
// in a message's life); 0 for statuses relais does not track, such as the
// inbound "receiving" and "received", or unknown values.
func StatusRank(status string) int { return statusRank[status] }

// Advances reports whether a callback with status next may replace the
// recorded status current: only strictly later statuses move a delivery
// forward; unknown statuses never do.
func Advances(current, next string) bool {
	n := StatusRank(next)
	return n > 0 && n > StatusRank(current)
}

// FinalState maps a Twilio status to the ledger state and says whether the
// outcome is known (only "read" may still follow "delivered", and it maps to
// the same state). Unknown statuses map to "" and false.
func FinalState(status string) (state string, final bool) {
	switch status {
	case "accepted", "scheduled", "queued", "sending":
		return StateAccepted, false
	case "sent":
		return StateSent, false
	case "delivered", "read", "partially_delivered":
		return StateDelivered, true
	case "undelivered":
		return StateBounced, true
	case "failed", "canceled":
		return StateFailed, true
	}
	return "", false
}
