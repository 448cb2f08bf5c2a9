package store

// Email outcome event types recorded from bounces, complaints and provider
// webhooks (internal/bounce), beside EventBounced (a hard bounce, which
// also moves the ledger row to bounced). They are stable: reports and the
// API expose them.
const (
	// EventSoftBounced is a temporary failure reported after acceptance;
	// the row keeps its state.
	EventSoftBounced = "soft_bounced"
	// EventComplained is a spam complaint (a feedback report).
	EventComplained = "complained"
)
