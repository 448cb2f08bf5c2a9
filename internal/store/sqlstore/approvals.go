package sqlstore

import (
	"context"

	"github.com/relais-dev/relais/internal/store"
)

const (
	qInsertProof = `INSERT INTO proofs (id, campaign_id, version, step_id, channel, contact_id, recipient, sent_to, provider_id, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	qListProofs = `SELECT id, campaign_id, version, step_id, channel, contact_id, recipient, sent_to, provider_id, sent_at FROM proofs
WHERE campaign_id = $1 AND ($2 = '' OR version = $2) ORDER BY sent_at DESC, id`
	qApprove = `INSERT INTO approvals (campaign_id, version, approved_by, note, approved_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (campaign_id, version, approved_by) DO UPDATE SET note = excluded.note, approved_at = excluded.approved_at`
	qApprovals = `SELECT campaign_id, version, approved_by, note, approved_at FROM approvals
WHERE campaign_id = $1 AND ($2 = '' OR version = $2) ORDER BY approved_at, approved_by`
)

// RecordProof implements store.ApprovalStore.
func (s *Store) RecordProof(ctx context.Context, p store.Proof) error {
	_, err := s.exec(ctx, "record proof", qInsertProof, p.ID, p.CampaignID, p.Version, p.StepID, p.Channel, p.ContactID,
		p.Recipient, p.To, p.ProviderID, s.d.t(p.SentAt))
	return err
}

// ListProofs implements store.ApprovalStore.
func (s *Store) ListProofs(ctx context.Context, campaignID, version string) ([]store.Proof, error) {
	out, err := queryAll(ctx, s, "list proofs of "+campaignID, func(r rowScanner) (store.Proof, error) {
		var p store.Proof
		err := r.Scan(&p.ID, &p.CampaignID, &p.Version, &p.StepID, &p.Channel, &p.ContactID, &p.Recipient, &p.To, &p.ProviderID, ts(&p.SentAt))
		return p, err
	}, qListProofs, campaignID, version)
	if out == nil && err == nil {
		out = []store.Proof{}
	}
	return out, err
}

// Approve implements store.ApprovalStore.
func (s *Store) Approve(ctx context.Context, a store.Approval) error {
	_, err := s.exec(ctx, "approve "+a.CampaignID, qApprove, a.CampaignID, a.Version, a.By, a.Note, s.d.t(a.At))
	return err
}

// Approvals implements store.ApprovalStore.
func (s *Store) Approvals(ctx context.Context, campaignID, version string) ([]store.Approval, error) {
	out, err := queryAll(ctx, s, "approvals of "+campaignID, func(r rowScanner) (store.Approval, error) {
		var a store.Approval
		err := r.Scan(&a.CampaignID, &a.Version, &a.By, &a.Note, ts(&a.At))
		return a, err
	}, qApprovals, campaignID, version)
	if out == nil && err == nil {
		out = []store.Approval{}
	}
	return out, err
}
