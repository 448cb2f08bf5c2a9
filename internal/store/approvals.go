package store

import (
	"context"
	"time"
)

// Proof is one reviewer copy (BAT) of a campaign message: the message one
// real recipient would get, sent to a reviewer instead. A proof is not a
// send: it has no ledger row and counts toward nothing.
type Proof struct {
	ID         string    `json:"id"`
	CampaignID string    `json:"campaign_id"`
	Version    string    `json:"version"` // the campaign's content hash
	StepID     string    `json:"step"`
	Channel    string    `json:"channel"`
	ContactID  int64     `json:"contact_id"` // the real recipient (0: not stored yet)
	Recipient  string    `json:"recipient"`  // its external id (never its name or address)
	To         string    `json:"to"`         // the reviewer's address, number or folder
	ProviderID string    `json:"provider_id,omitempty"`
	SentAt     time.Time `json:"sent_at"`
}

// Approval is a person's approval of one version of a campaign after
// reviewing its proofs; a campaign with `approval: required` runs only a
// version that has one.
type Approval struct {
	CampaignID string    `json:"campaign_id"`
	Version    string    `json:"version"` // the campaign's content hash
	By         string    `json:"by"`
	Note       string    `json:"note,omitempty"`
	At         time.Time `json:"at"`
}

// ApprovalStore records proofs and approvals.
type ApprovalStore interface {
	// RecordProof stores p (p.ID unique).
	RecordProof(ctx context.Context, p Proof) error
	// ListProofs returns a campaign's proofs, newest first (version ""
	// for every version).
	ListProofs(ctx context.Context, campaignID, version string) ([]Proof, error)
	// Approve records a's approval; the same person approving the same
	// version again replaces the note and time.
	Approve(ctx context.Context, a Approval) error
	// Approvals returns the approvals of a campaign's version, oldest
	// first (version "" for every version); none is an empty list.
	Approvals(ctx context.Context, campaignID, version string) ([]Approval, error)
}
