package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/relais-dev/relais/internal/store"
)

const (
	qInsertBlob = `INSERT INTO blobs (sha256, content) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING`
	qHasBlob    = `SELECT 1 FROM blobs WHERE sha256 = $1`
	qInsertVer  = `INSERT INTO campaign_versions (hash, campaign_id, path, files, audience_hash, git_commit, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING`
	qGetVer = `SELECT hash, campaign_id, path, files, audience_hash, git_commit, created_at FROM campaign_versions WHERE hash = $1`
	qBlobs  = `SELECT sha256, content FROM blobs WHERE sha256 `
)

// SaveCampaignVersion implements store.VersionStore. Blobs are written
// before the version, each only when absent, so a version never names a
// missing blob and a shared template is stored once.
func (s *Store) SaveCampaignVersion(ctx context.Context, v store.CampaignVersion, blobs map[string][]byte) error {
	if _, err := s.GetCampaignVersion(ctx, v.Hash); err == nil {
		return nil
	}
	for sum, b := range blobs {
		var one int
		if err := s.r.QueryRowContext(ctx, qHasBlob, sum).Scan(&one); err == nil {
			continue
		}
		if _, err := s.exec(ctx, "store blob", qInsertBlob, sum, b); err != nil {
			return err
		}
	}
	files, err := json.Marshal(v.Files)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, "store campaign version", qInsertVer, v.Hash, v.CampaignID, v.Path, string(files), v.AudienceHash, v.Commit,
		s.d.t(s.now()))
	return err
}

// GetCampaignVersion implements store.VersionStore.
func (s *Store) GetCampaignVersion(ctx context.Context, hash string) (store.CampaignVersion, error) {
	return queryOne(ctx, s, s.r, "campaign version "+hash, func(r rowScanner) (store.CampaignVersion, error) {
		var v store.CampaignVersion
		var files string
		if err := r.Scan(&v.Hash, &v.CampaignID, &v.Path, &files, &v.AudienceHash, &v.Commit, ts(&v.CreatedAt)); err != nil {
			return v, err
		}
		return v, json.Unmarshal([]byte(files), &v.Files)
	}, qGetVer, hash)
}

// GetBlobs implements store.VersionStore.
func (s *Store) GetBlobs(ctx context.Context, sums []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(sums))
	if len(sums) == 0 {
		return out, nil
	}
	cond, args := in(s.d, nil, sums)
	type blob struct {
		sum string
		b   []byte
	}
	bs, err := queryAll(ctx, s, "read blobs", func(r rowScanner) (blob, error) {
		var b blob
		err := r.Scan(&b.sum, &b.b)
		return b, err
	}, qBlobs+cond, args...)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		out[b.sum] = b.b
	}
	return out, nil
}
