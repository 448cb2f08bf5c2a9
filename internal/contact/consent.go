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
