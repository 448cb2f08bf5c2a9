// Package version stores the campaign version a run starts with in the
// database (content-addressed blobs) and loads it back, so that the
// processes that send need no checkout of the campaigns folder.
package version

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync"
	"testing/fstest"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store"
)

// Save stores sp's version (its campaign file, templates, media and small
// audience file) unless it is stored already. It is called by whatever
// starts a run, before the run's first task is queued.
func Save(ctx context.Context, vs store.VersionStore, sp *campaign.Spec) error {
	key := savedKey{vs, sp.ContentHash}
	if _, ok := saved.Load(key); ok {
		return nil
	}
	if _, err := vs.GetCampaignVersion(ctx, sp.ContentHash); err == nil {
		saved.Store(key, true)
		return nil
	}
	if sp.Raw == nil {
		return fmt.Errorf("campaign %s: version %.12s has no file content to store", sp.ID, sp.ContentHash)
	}
	rel, err := filepath.Rel(sp.Root, sp.Path)
	if err != nil || !filepath.IsLocal(rel) {
		rel = filepath.Base(sp.Path)
	}
	v := store.CampaignVersion{Hash: sp.ContentHash, CampaignID: sp.ID, Path: filepath.ToSlash(rel),
		Files: map[string]string{}, Commit: GitCommit(sp.Root)}
	blobs := map[string][]byte{}
	add := func(p string, b []byte) {
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		v.Files[p] = h
		blobs[h] = b
	}
	add(v.Path, sp.Raw)
	for p, b := range sp.Files {
		add(p, b)
	}
	if sp.Audience.Source == "file" && sp.Files[sp.Audience.File] == nil {
		v.AudienceHash = sp.AudienceHash
	}
	if err := vs.SaveCampaignVersion(ctx, v, blobs); err != nil {
		return fmt.Errorf("campaign %s: store version %.12s: %w", sp.ID, sp.ContentHash, err)
	}
	saved.Store(key, true)
	return nil
}

// saved remembers the versions this process stored or found stored, by
// store and hash, so that a transactional send (one run start per API
// call) does not read the version table each time. Versions are never
// deleted, so the memory is never stale.
var saved sync.Map

type savedKey struct {
	vs   store.VersionStore
	hash string
}

// Load returns the campaign version with this hash from the database,
// loaded with l (its channels) from the stored files; the spec's content
// hash is checked against the one asked for.
func Load(ctx context.Context, vs store.VersionStore, l campaign.Loader, hash string) (*campaign.Spec, error) {
	v, err := vs.GetCampaignVersion(ctx, hash)
	if err != nil {
		return nil, err
	}
	sums := make([]string, 0, len(v.Files))
	for _, s := range v.Files {
		sums = append(sums, s)
	}
	blobs, err := vs.GetBlobs(ctx, sums)
	if err != nil {
		return nil, err
	}
	fsys := fstest.MapFS{}
	for p, s := range v.Files {
		b, ok := blobs[s]
		if !ok {
			return nil, fmt.Errorf("campaign version %.12s: blob %.12s of %s is missing", hash, s, p)
		}
		fsys[p] = &fstest.MapFile{Data: b}
	}
	l.FS = fsys
	l.AudienceHash = v.AudienceHash
	sp, err := l.Load(v.Path)
	if err != nil {
		return nil, fmt.Errorf("campaign version %.12s: %w", hash, err)
	}
	if sp.ContentHash != hash {
		return nil, fmt.Errorf("campaign version %.12s loads as %.12s (the channels of this process differ?)", hash, sp.ContentHash)
	}
	return sp, nil
}
