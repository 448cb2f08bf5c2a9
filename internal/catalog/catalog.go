// Package catalog keeps the campaign versions this process can send,
// indexed by campaign id and content hash, loaded from the campaigns folder.
package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/version"
)

// Catalog holds every version of every campaign seen since the process
// started, so that jobs of a run planned with an older version still send
// what was planned after the file changes. Safe for concurrent use.
type Catalog struct {
	dir string
	// Loader loads the campaign files (its channels: those of the
	// process); the zero value loads with the built-in channels.
	Loader campaign.Loader
	// Versions, when set, is where a version missing from the folder is
	// loaded from: the campaign versions runs stored in the database, so
	// a worker needs no checkout of the campaigns folder.
	Versions store.VersionStore
	loadMu   sync.Mutex // one database load of a version at a time

	mu       sync.RWMutex
	versions map[string]*campaign.Spec // id + "\x00" + hash
	live     map[string]*campaign.Spec // id → latest valid version
}

// New returns a catalog of the campaign files in dir (not loaded yet).
func New(dir string) *Catalog {
	return &Catalog{dir: dir, versions: map[string]*campaign.Spec{}, live: map[string]*campaign.Spec{}}
}

// Add registers a loaded spec as the live version of its campaign.
func (c *Catalog) Add(sp *campaign.Spec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions[sp.ID+"\x00"+sp.ContentHash] = sp
	c.live[sp.ID] = sp
}

// Reload loads every *.yaml / *.yml file of the folder. A file that fails
// to load keeps its previous live version; its errors are returned.
func (c *Catalog) Reload() []error {
	files, err := Files(c.dir)
	if err != nil {
		return []error{err}
	}
	var errs []error
	var specs []*campaign.Spec
	ids := map[string]string{}
	for _, f := range files {
		sp, err := c.Loader.Load(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids[f] = sp.ID
		specs = append(specs, sp)
	}
	// Two files with one id: neither becomes live, both are reported;
	// keeping one by file name would send a campaign nobody chose.
	dup := map[string]bool{}
	for _, e := range campaign.DuplicateIDs(ids) {
		dup[e.File] = true
		errs = append(errs, e)
	}
	for _, sp := range specs {
		if !dup[sp.Path] {
			c.Add(sp)
		}
	}
	return errs
}

// Campaign returns campaign id at contentHash; it reloads the folder once
// when that version is unknown (the file may have changed since start),
// then loads it from the database when Versions is set.
func (c *Catalog) Campaign(ctx context.Context, id, contentHash string) (*campaign.Spec, error) {
	if sp := c.get(id, contentHash); sp != nil {
		return sp, nil
	}
	if c.dir != "" {
		c.Reload()
		if sp := c.get(id, contentHash); sp != nil {
			return sp, nil
		}
	}
	if c.Versions == nil {
		return nil, fmt.Errorf("campaign %s version %.12s is not available in %s", id, contentHash, c.dir)
	}
	return c.stored(ctx, id, contentHash)
}

// stored loads a version from the database once per process; it is kept
// beside the folder's versions but never becomes the live one.
func (c *Catalog) stored(ctx context.Context, id, contentHash string) (*campaign.Spec, error) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	if sp := c.get(id, contentHash); sp != nil {
		return sp, nil
	}
	sp, err := version.Load(ctx, c.Versions, c.Loader, contentHash)
	if err != nil {
		return nil, fmt.Errorf("campaign %s version %.12s: %w", id, contentHash, err)
	}
	if sp.ID != id {
		return nil, fmt.Errorf("campaign version %.12s is campaign %s, not %s", contentHash, sp.ID, id)
	}
	c.mu.Lock()
	c.versions[id+"\x00"+contentHash] = sp
	c.mu.Unlock()
	return sp, nil
}

// Live returns the live version of campaign id, or nil.
func (c *Catalog) Live(id string) *campaign.Spec {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live[id]
}

// List returns the live versions sorted by id.
func (c *Catalog) List() []*campaign.Spec {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*campaign.Spec, 0, len(c.live))
	for _, sp := range c.live {
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *Catalog) get(id, hash string) *campaign.Spec {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.versions[id+"\x00"+hash]
}

// Files lists the campaign files of paths: a file as it is, a folder's
// *.yaml and *.yml files (not recursive), sorted.
func Files(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				out = append(out, filepath.Join(p, n))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
