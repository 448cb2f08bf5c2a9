package store

import (
	"context"
	"time"
)

// CampaignVersion is a campaign as a run started it: the campaign file and
// every file it references, each kept as a blob named by its SHA-256, so
// that a worker with no checkout of the campaigns folder sends exactly
// what was planned. Runs name their version by its Hash (Run.ContentHash).
type CampaignVersion struct {
	Hash       string `json:"hash"` // the campaign's content hash
	CampaignID string `json:"campaign_id"`
	// Path is the campaign file relative to the campaign's root, slash
	// separated ("campaigns/printemps.yaml").
	Path string `json:"path"`
	// Files maps each stored path relative to the root (the campaign file
	// included) to the hex SHA-256 of its content.
	Files map[string]string `json:"files"`
	// AudienceHash is set when the audience file was too big to store:
	// the starting process expands it, other processes only need its hash.
	AudienceHash string `json:"audience_hash,omitempty"`
	// Commit is the git commit checked out in the campaigns folder when
	// the version was stored ("" when the folder is not a checkout).
	Commit    string    `json:"commit,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// VersionStore keeps campaign versions and their content-addressed blobs.
type VersionStore interface {
	// SaveCampaignVersion stores v and the blobs it names (by SHA-256);
	// a version or blob stored already is left as it is.
	SaveCampaignVersion(ctx context.Context, v CampaignVersion, blobs map[string][]byte) error
	// GetCampaignVersion returns the version with this hash or ErrNotFound.
	GetCampaignVersion(ctx context.Context, hash string) (CampaignVersion, error)
	// GetBlobs returns the blobs with these SHA-256 (missing ones are
	// absent from the map).
	GetBlobs(ctx context.Context, sums []string) (map[string][]byte, error)
}
