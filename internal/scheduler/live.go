package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
)

// DefaultDebounce is how long Live waits after the last file change
// before reloading: an editor's save or a `git pull` is a burst of
// events, and a half-written tree must not be validated.
const DefaultDebounce = 300 * time.Millisecond

// LiveVersion is the version of one campaign that is live in this
// process, for the dashboard and `relais status`.
type LiveVersion struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	// ContentHash is the live version's hash; "" when the campaign never
	// loaded (then Error says why and nothing of it is live).
	ContentHash string `json:"content_hash,omitempty"`
	// GitCommit is the commit checked out when the live version was
	// loaded, when the folder is a git checkout.
	GitCommit string    `json:"git_commit,omitempty"`
	LoadedAt  time.Time `json:"loaded_at,omitzero"`
	// Error is the problem of the file as it is now on disk (the live
	// version is then the previous valid one); "" when it is valid.
	Error string `json:"error,omitempty"`
	// Scheduled reports a campaign with a cron schedule.
	Scheduled bool `json:"scheduled"`
}

// Live keeps the campaigns of a folder live: it loads every campaign
// file, registers each valid version in the catalog (so workers find it),
// reloads on file changes (Run) or on demand (Reload), and keeps the
// previous valid version of a campaign whose file became invalid. Safe
// for concurrent use.
type Live struct {
	dir      string
	cat      *catalog.Catalog
	log      *slog.Logger
	now      func() time.Time
	debounce time.Duration
	loader   campaign.Loader

	reloadMu sync.Mutex // one reload at a time
	mu       sync.RWMutex
	specs    map[string]*campaign.Spec // id → live version
	versions map[string]*LiveVersion   // id → what Versions reports
	fileIDs  map[string]string         // file → id of its last valid load
	watched  map[string]bool
	changed  []func()
}

// LiveOptions tune a Live; zero values take the documented defaults.
type LiveOptions struct {
	Log      *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now
	Debounce time.Duration    // default DefaultDebounce
	// Loader loads the campaign files; the zero value loads with the
	// built-in channels.
	Loader campaign.Loader
}

// NewLive returns a Live of the campaign files in dir (*.yaml, *.yml, not
// recursive) feeding cat. Nothing is loaded until Reload or Run.
func NewLive(dir string, cat *catalog.Catalog, o LiveOptions) *Live {
	l := &Live{dir: dir, cat: cat, log: o.Log, now: o.Now, debounce: o.Debounce, loader: o.Loader,
		specs: map[string]*campaign.Spec{}, versions: map[string]*LiveVersion{},
		fileIDs: map[string]string{}, watched: map[string]bool{}}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.debounce <= 0 {
		l.debounce = DefaultDebounce
	}
	return l
}

// OnChange registers fn, called after a reload that changed the live set
// (a new version, a campaign added or removed).
func (l *Live) OnChange(fn func()) {
	l.mu.Lock()
	l.changed = append(l.changed, fn)
	l.mu.Unlock()
}

// Specs returns the live campaign versions sorted by id.
func (l *Live) Specs() []*campaign.Spec {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*campaign.Spec, 0, len(l.specs))
	for _, sp := range l.specs {
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Versions returns what is live per campaign, sorted by id, including
// campaigns whose file is currently invalid.
func (l *Live) Versions() []LiveVersion {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]LiveVersion, 0, len(l.versions))
	for _, v := range l.versions {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Reload loads every campaign file of the folder now. A valid file
// becomes the live version of its campaign (and enters the catalog); an
// invalid one keeps the previous live version and records its error; a
// removed file's campaign stops being live (its versions stay in the
// catalog for runs in flight). It returns the problems found, joined (nil
// when every file is valid); the folder being unreadable is one of them.
func (l *Live) Reload() error {
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	files, err := catalog.Files(l.dir)
	if err != nil {
		return fmt.Errorf("campaigns folder: %w", err)
	}
	commit := GitCommit(l.dir)
	now := l.now()
	type loaded struct {
		file string
		sp   *campaign.Spec
		err  error
	}
	results := make([]loaded, 0, len(files))
	for _, f := range files {
		sp, err := l.loader.Load(f)
		results = append(results, loaded{f, sp, err})
	}

	// Files sharing a campaign id are all errors: keeping the first by
	// name would make the other file silently do nothing.
	ids := map[string]string{}
	for _, r := range results {
		if r.err == nil {
			ids[r.file] = r.sp.ID
		}
	}
	dups := map[string]error{}
	for _, e := range campaign.DuplicateIDs(ids) {
		dups[e.File] = e
	}

	l.mu.Lock()
	var problems []error
	changed := false
	keep := map[string]bool{}
	for _, r := range results {
		if e, dup := dups[r.file]; dup && r.err == nil {
			r.err, r.sp = e, nil
		}
		if r.err != nil {
			problems = append(problems, r.err)
			id := l.fileIDs[r.file]
			if id == "" {
				id = strings.TrimSuffix(filepath.Base(r.file), filepath.Ext(r.file))
			}
			keep[id] = true
			v := l.versions[id]
			if v == nil {
				v = &LiveVersion{ID: id, Path: r.file}
				l.versions[id] = v
				changed = true
			}
			if v.Error != r.err.Error() && v.ContentHash != "" {
				l.log.Error("campaign file invalid; previous version stays live", "campaign", id, "file", r.file,
					"live_hash", short(v.ContentHash), "err", r.err)
			} else if v.Error != r.err.Error() {
				l.log.Error("campaign file invalid; campaign not live", "campaign", id, "file", r.file, "err", r.err)
			}
			v.Error = r.err.Error()
			continue
		}
		sp := r.sp
		keep[sp.ID] = true
		l.fileIDs[r.file] = sp.ID
		v := l.versions[sp.ID]
		if v == nil || v.ContentHash != sp.ContentHash {
			l.cat.Add(sp)
			l.specs[sp.ID] = sp
			l.versions[sp.ID] = &LiveVersion{ID: sp.ID, Path: r.file, ContentHash: sp.ContentHash,
				GitCommit: commit, LoadedAt: now, Scheduled: sp.Schedule != nil}
			changed = true
			l.log.Info("campaign version live", "campaign", sp.ID, "hash", short(sp.ContentHash), "commit", short(commit))
			continue
		}
		if v.Error != "" {
			l.log.Info("campaign file valid again", "campaign", sp.ID, "hash", short(sp.ContentHash))
		}
		v.Error, v.Path = "", r.file
	}
	for id := range l.versions {
		if !keep[id] {
			delete(l.versions, id)
			delete(l.specs, id)
			changed = true
			l.log.Info("campaign removed from the live set", "campaign", id)
		}
	}
	var notify []func()
	if changed {
		notify = append(notify, l.changed...)
	}
	l.mu.Unlock()
	for _, fn := range notify {
		fn()
	}
	return errors.Join(problems...)
}

// Run loads the folder, then watches it (and the templates and other
// files its campaigns reference) and reloads DefaultDebounce after the
// last change, and on SIGHUP when signals is true, until ctx ends. It
// fails only when the watcher cannot start; invalid files are reported
// through Versions and the log.
func (l *Live) Run(ctx context.Context, signals bool) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch campaigns: %w", err)
	}
	defer w.Close()
	// Watch before the first load, so that an edit made while it loads is
	// not lost, and again after it for the folders the campaigns name.
	l.watch(w)
	_ = l.Reload() // problems are in Versions and the log
	l.watch(w)
	var hup chan os.Signal
	if signals {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			timer.Reset(l.debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			l.log.Warn("campaign watcher", "err", err)
		case <-hup:
			l.log.Info("SIGHUP: reloading campaigns")
			_ = l.Reload()
			l.watch(w)
		case <-timer.C:
			_ = l.Reload()
			l.watch(w)
		}
	}
}

// watch adds the folder, the templates tree next to it and the folder of
// every file a live campaign references to w (fsnotify is not recursive,
// and editors replace files by renaming, so folders are watched).
func (l *Live) watch(w *fsnotify.Watcher) {
	dirs := map[string]bool{l.dir: true}
	root := l.dir
	if filepath.Base(filepath.Clean(l.dir)) == "campaigns" {
		root = filepath.Dir(filepath.Clean(l.dir))
	}
	_ = filepath.WalkDir(filepath.Join(root, "templates"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs[p] = true
		}
		return nil
	})
	for _, sp := range l.Specs() {
		for f := range sp.Files {
			dirs[filepath.Dir(filepath.Join(sp.Root, f))] = true
		}
	}
	for d := range dirs {
		if l.watched[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			l.log.Debug("cannot watch folder", "dir", d, "err", err)
			continue
		}
		l.watched[d] = true
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Handler serves Versions as JSON ({"campaigns": [...]}) for the
// dashboard and `relais status` to show what is live; mount it where the
// api role wants it (read-only, no personal data).
func (l *Live) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Campaigns []LiveVersion `json:"campaigns"`
		}{l.Versions()})
	})
}
