package contact

import "time"

// ConsentStatus is what a contact said about one channel and purpose.
type ConsentStatus int

// Consent statuses.
const (
	Unknown ConsentStatus = iota // nothing recorded
	Granted
	Refused
)

// ConsentState is a consent record with its proof (GDPR art. 7(1): the
// controller must be able to demonstrate consent).
type ConsentState struct {
	Status ConsentStatus
	// Source is where it was given ("import:file.csv", "api", "sms:STOP").
	Source string
	// At is when it was given or withdrawn.
	At time.Time
	// Text is the wording or its version shown when it was collected.
	Text string
}

// Purposes of a message, equal to campaign.Marketing and
// campaign.Transactional (repeated here so neither the policy nor the
// store depends on the campaign file model).
const (
	PurposeMarketing     = "marketing"
	PurposeTransactional = "transactional"
)

// PurposeOpenTracking is the consent purpose checked for the open pixel
// under the with_consent open tracking policy.
const PurposeOpenTracking = "open_tracking"

// ImportSource is the Source of a consent read from an import's consent
// columns rather than recorded with its own proof.
const ImportSource = "import"

// ResolveConsent is the one rule for a contact's consent on a channel: a
// recorded consent (Status not Unknown) wins; otherwise the value an
// import carried (imported, nil when none) answers, with source and at as
// its proof; otherwise Unknown. The store and the policy engine both
// decide through it.
func ResolveConsent(recorded ConsentState, imported *bool, source string, at time.Time) ConsentState {
	if recorded.Status != Unknown || imported == nil {
		return recorded
	}
	st := ConsentState{Status: Refused, Source: source, At: at}
	if *imported {
		st.Status = Granted
	}
	return st
}
