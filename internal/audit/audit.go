// Package audit ties a run to the exact campaign version it sent: the
// content hash the run recorded, the files with that hash (from the
// campaigns folder when they still match, else from git history, else
// from the copy stored when the run started) and the git commit that
// introduced that version.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/store"
)

// Sources of a version's files.
const (
	SourceFolder = "folder" // the campaigns folder, whose files still have the run's hash
	SourceGit    = "git"    // the commit that introduced the version
	SourceStored = "stored" // the copy the database kept when a run started it
)

// maxCommits bounds the history searched for a version.
const maxCommits = 200

// File is one file of a campaign version.
type File struct {
	Path    string `json:"path"` // relative to the campaign's root
	SHA256  string `json:"sha256"`
	Content []byte `json:"-"`
}

// Version is what is known of one campaign version.
type Version struct {
	CampaignID string `json:"campaign_id"`
	Hash       string `json:"content_hash"`
	// Commit introduced the version ("" when it is not in the history of
	// the campaigns folder's repository).
	Commit string `json:"git_commit,omitempty"`
	// Source says where Files come from ("" when nowhere).
	Source string `json:"source,omitempty"`
	// File is the campaign file's path in the folder; LiveHash its
	// current content hash ("" when the folder has no file with this id).
	File     string `json:"file,omitempty"`
	LiveHash string `json:"live_hash,omitempty"`
	Files    []File `json:"files"`
}

// Matches reports whether the folder's files are the run's version.
func (v Version) Matches() bool { return v.LiveHash != "" && v.LiveHash == v.Hash }

// Locator finds versions under a campaigns folder. Safe for concurrent
// use; commits found are cached (a version's commit does not change).
type Locator struct {
	Dir string
	// Versions, when set, holds the versions runs started: their files
	// when neither the folder nor git has them (a worker without the
	// repository), and the commit checked out when they were stored
	// when git history does not know them.
	Versions store.VersionStore

	mu      sync.Mutex
	commits map[string]string // campaign id + hash → commit
}

// Find returns campaignID's version hash: the files and the commit.
func (l *Locator) Find(ctx context.Context, campaignID, hash string) (Version, error) {
	v := Version{CampaignID: campaignID, Hash: hash, Files: []File{}}
	c := catalog.New(l.Dir)
	c.Reload() // a broken file elsewhere must not hide this campaign
	if sp := c.Live(campaignID); sp != nil {
		v.File, v.LiveHash = sp.Path, sp.ContentHash
		commit, old, err := l.search(ctx, sp, hash)
		if err != nil {
			return v, err
		}
		v.Commit = commit
		switch {
		case sp.ContentHash == hash:
			v.Source, v.Files = SourceFolder, files(sp)
		case old != nil:
			v.Source, v.Files = SourceGit, files(old)
		}
	}
	if v.Source != "" && v.Commit != "" || l.Versions == nil {
		return v, nil
	}
	return l.stored(ctx, v)
}

// stored completes v from the version the database kept: its files when
// v has none, its commit when git did not find one.
func (l *Locator) stored(ctx context.Context, v Version) (Version, error) {
	sv, err := l.Versions.GetCampaignVersion(ctx, v.Hash)
	if errors.Is(err, store.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if v.Commit == "" {
		v.Commit = sv.Commit
	}
	if v.Source != "" {
		return v, nil
	}
	sums := make([]string, 0, len(sv.Files))
	for _, sum := range sv.Files {
		sums = append(sums, sum)
	}
	blobs, err := l.Versions.GetBlobs(ctx, sums)
	if err != nil {
		return v, err
	}
	for p, sum := range sv.Files {
		b, ok := blobs[sum]
		if !ok {
			return v, fmt.Errorf("campaign version %.12s: blob %.12s of %s is missing", v.Hash, sum, p)
		}
		v.Files = append(v.Files, File{Path: p, SHA256: sum, Content: b})
	}
	sort.Slice(v.Files, func(i, j int) bool { return v.Files[i].Path < v.Files[j].Path })
	v.Source = SourceStored
	return v, nil
}

// Commit returns the commit that introduced campaignID's version hash, ""
// when unknown.
func (l *Locator) Commit(ctx context.Context, campaignID, hash string) string {
	key := campaignID + "\x00" + hash
	l.mu.Lock()
	c, ok := l.commits[key]
	l.mu.Unlock()
	if ok {
		return c
	}
	v, err := l.Find(ctx, campaignID, hash)
	if err != nil {
		return ""
	}
	// Remember a miss too: a report asks once per run, and runs of one
	// version are many.
	l.mu.Lock()
	if l.commits == nil {
		l.commits = map[string]string{}
	}
	l.commits[key] = v.Commit
	l.mu.Unlock()
	return v.Commit
}

func files(sp *campaign.Spec) []File {
	out := make([]File, 0, len(sp.Files))
	for p, b := range sp.Files {
		sum := sha256.Sum256(b)
		out = append(out, File{Path: p, SHA256: hex.EncodeToString(sum[:]), Content: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// search walks the commits that changed sp's files, newest first, for
// the first whose version of them has hash; it returns the commit and
// that version.
func (l *Locator) search(ctx context.Context, sp *campaign.Spec, hash string) (string, *campaign.Spec, error) {
	key := sp.ID + "\x00" + hash
	dir := filepath.Dir(sp.Path)
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", nil, nil // not a checkout
	}
	abs := func(p string) string {
		a, _ := filepath.Abs(p)
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r // git names the root by its real path
		}
		return a
	}
	var paths []string
	for _, p := range append([]string{sp.Path}, relPaths(sp)...) {
		if r, err := filepath.Rel(top, abs(p)); err == nil {
			paths = append(paths, filepath.ToSlash(r))
		}
	}
	log, err := git(ctx, top, append([]string{"log", "--format=%H", "-n", fmt.Sprint(maxCommits), "--"}, paths...)...)
	if err != nil || log == "" {
		return "", nil, nil
	}
	tmp, err := os.MkdirTemp("", "relais-audit-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	for _, commit := range strings.Fields(log) {
		dst := filepath.Join(tmp, commit)
		for _, p := range paths {
			b, err := gitBytes(ctx, top, "show", commit+":"+p)
			if err != nil {
				continue // not in that commit
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, p)), 0o755); err != nil {
				return "", nil, err
			}
			if err := os.WriteFile(filepath.Join(dst, p), b, 0o644); err != nil {
				return "", nil, err
			}
		}
		old, err := campaign.Load(filepath.Join(dst, paths[0]))
		if err != nil || old.ContentHash != hash {
			continue
		}
		l.mu.Lock()
		if l.commits == nil {
			l.commits = map[string]string{}
		}
		l.commits[key] = commit
		l.mu.Unlock()
		return commit, old, nil
	}
	return "", nil, nil
}

// relPaths are sp's referenced files as paths from the working directory.
func relPaths(sp *campaign.Spec) []string {
	out := make([]string, 0, len(sp.Files))
	for p := range sp.Files {
		out = append(out, filepath.Join(sp.Root, p))
	}
	sort.Strings(out)
	return out
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	b, err := gitBytes(ctx, dir, args...)
	return strings.TrimSpace(string(b)), err
}

func gitBytes(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}
