package campaign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/render"
)

// MaxInlineAudience is the size above which an audience file is hashed
// but not kept in Spec.Files: audiences are streamed at run time and a
// million-row file must not sit in memory.
const MaxInlineAudience = 8 << 20

// Errors is a list of validation problems; Load returns it as its error.
type Errors []Error

// Error joins the problems, one per line, as path:line:col: message.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Loader loads campaign files against a set of channels: the channel
// names, step blocks, sender keys, limits and cost keys a file may use
// are the registry's.
type Loader struct {
	// Channels is the channel registry; nil means the built-in channels.
	Channels *channel.Registry
	// FS, when set, is where the campaign file and the files it references
	// are read (slash-separated paths), instead of the disk: a campaign
	// version stored in the database is loaded this way by processes that
	// have no checkout of the campaigns folder.
	FS fs.FS
	// AudienceHash and AudienceHead stand in for an audience file that is
	// absent from FS because it was too big to store with the version:
	// its hash (for the content hash) and its first bytes (its header).
	AudienceHash string
	AudienceHead []byte
}

// readFile reads name from l.FS or the disk.
func (l Loader) readFile(name string) ([]byte, error) {
	if l.FS != nil {
		return fs.ReadFile(l.FS, filepath.ToSlash(name))
	}
	return os.ReadFile(name)
}

// open opens name from l.FS or the disk.
func (l Loader) open(name string) (io.ReadCloser, error) {
	if l.FS != nil {
		return l.FS.Open(filepath.ToSlash(name))
	}
	return os.Open(name)
}

func (l Loader) channels() *channel.Registry {
	if l.Channels != nil {
		return l.Channels
	}
	return builtin.Channels()
}

// Load reads, decodes and validates one campaign file with every file it
// references, with the built-in channels (Loader.Load).
func Load(path string) (*Spec, error) { return Loader{}.Load(path) }

// Validate returns every problem of the campaign file at path (none:
// nil), with the built-in channels.
func Validate(path string) []Error { return Loader{}.Validate(path) }

// ValidateWithWarnings is Loader.ValidateWithWarnings with the built-in
// channels.
func ValidateWithWarnings(path string) ([]Error, []Warning) {
	return Loader{}.ValidateWithWarnings(path)
}

// LoadAll is Loader.LoadAll with the built-in channels.
func LoadAll(paths []string) ([]*Spec, []Error) { return Loader{}.LoadAll(paths) }

// Load reads, decodes and validates one campaign file with every file it
// references. On any problem it returns nil and an Errors value listing
// them all (errors.As(err, &campaign.Errors{}) gives the list); an
// unreadable campaign file is also reported as an Errors value.
func (l Loader) Load(path string) (*Spec, error) {
	sp, errs := l.load(path)
	if len(errs) > 0 {
		return nil, Errors(errs)
	}
	return sp, nil
}

// Validate returns every problem of the campaign file at path (none: nil).
func (l Loader) Validate(path string) []Error {
	_, errs := l.load(path)
	return errs
}

// ValidateWithWarnings is Validate plus the warnings that need a sample
// of the audience (see SampleWarnings): what `relais validate` prints.
// Loading a campaign for a run skips them, since reading the audience
// file's head and rendering SMS for it is wasted work there.
func (l Loader) ValidateWithWarnings(path string) ([]Error, []Warning) {
	sp, errs, c := l.loadChecked(path)
	if c == nil {
		return errs, nil
	}
	return errs, c.warnings(sp)
}

// LoadAll loads every campaign under paths: a path is a campaign file or
// a directory whose *.yaml and *.yml files (not recursive) are campaigns.
// It returns the valid specs and all problems, including two campaigns
// sharing an id.
func (l Loader) LoadAll(paths []string) ([]*Spec, []Error) {
	var files []string
	var errs []Error
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, Error{File: p, Msg: "cannot read: " + errors.Unwrap(err).Error()})
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, Error{File: p, Msg: fmt.Sprintf("cannot list: %v", err)})
			continue
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var specs []*Spec
	ids := map[string]string{}
	for _, f := range files {
		sp, es := l.load(f)
		errs = append(errs, es...)
		if sp != nil {
			ids[f] = sp.ID
		}
		if sp == nil || len(es) > 0 {
			continue
		}
		specs = append(specs, sp)
	}
	dups := DuplicateIDs(ids)
	errs = append(errs, dups...)
	specs = slices.DeleteFunc(specs, func(sp *Spec) bool {
		return slices.ContainsFunc(dups, func(e Error) bool { return e.File == sp.Path })
	})
	return specs, errs
}

// ValidateFiles is ValidateWithWarnings for each file, plus an error on
// every file whose campaign id another file also uses: runs, reports and
// the ledger know a campaign by its id, so two files with one id would
// make one of them silently unreachable.
func (l Loader) ValidateFiles(files []string) ([]Error, []Warning) {
	var errs []Error
	var warns []Warning
	ids := map[string]string{}
	for _, f := range files {
		sp, es, c := l.loadChecked(f)
		errs = append(errs, es...)
		if c == nil {
			continue
		}
		ids[f] = sp.ID
		warns = append(warns, c.warnings(sp)...)
	}
	return append(errs, DuplicateIDs(ids)...), warns
}

// DuplicateIDs returns one error per file (ids: file → campaign id) whose
// id another file also uses, naming the other files, so that each file is
// reported where the user will look for it.
func DuplicateIDs(ids map[string]string) []Error {
	byID := map[string][]string{}
	for f, id := range ids {
		byID[id] = append(byID[id], f)
	}
	var errs []Error
	for id, files := range byID {
		if len(files) < 2 {
			continue
		}
		slices.Sort(files)
		for _, f := range files {
			others := slices.DeleteFunc(slices.Clone(files), func(o string) bool { return o == f })
			errs = append(errs, Error{File: f, Line: 1, Col: 1,
				Msg: fmt.Sprintf("campaign id %q is also used by %s", id, strings.Join(others, ", "))})
		}
	}
	sortErrors(errs)
	return errs
}

// RootOf returns the repository root of a campaign file: the parent of
// its directory when that directory is named "campaigns", else the
// directory itself.
func RootOf(path string) string {
	dir := filepath.Dir(path)
	if filepath.Base(dir) == "campaigns" {
		return filepath.Dir(dir)
	}
	return dir
}

func (l Loader) load(path string) (*Spec, []Error) {
	sp, errs, _ := l.loadChecked(path)
	return sp, errs
}

// loadChecked is load that also returns the checker, which remembers
// where things were written (nil when the file did not decode).
func (l Loader) loadChecked(path string) (*Spec, []Error, *checker) {
	raw, err := l.readFile(path)
	if err != nil {
		return nil, []Error{{File: path, Msg: "cannot read campaign file: " + pathErr(err)}}, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, []Error{yamlError(path, err)}, nil
	}
	if len(root.Content) == 0 {
		return nil, []Error{{File: path, Line: 1, Col: 1, Msg: "empty campaign file"}}, nil
	}
	d := &decoder{file: path, reg: l.channels()}
	sp, pos := d.decodeSpec(&root)
	sp.Path = path
	sp.Root = RootOf(path)
	if sp.ID == "" {
		sp.ID = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if len(sp.Channels) == 0 && pos.channels[""] != nil {
		d.errorf(pos.channels[""], "channels must not be empty")
	}
	sp.Raw = raw
	c := &checker{decoder: d, sp: sp, pos: pos, l: l}
	c.readFiles()
	c.checkSteps()
	c.checkExprs()
	c.compileTemplates()
	sp.ContentHash = c.hash(raw)
	sortErrors(d.errs)
	return sp, d.errs, c
}

// pathErr drops the path from an fs error: callers already print it.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// yamlError converts a yaml.v3 syntax error ("yaml: line 3: …") into an
// Error with its line.
func yamlError(path string, err error) Error {
	msg := err.Error()
	e := Error{File: path, Line: 1, Col: 1, Msg: msg}
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if !ok {
		return e
	}
	n, after, _ := strings.Cut(rest, ":")
	var line int
	if _, err := fmt.Sscanf(n, "%d", &line); err == nil {
		problem := strings.TrimSpace(after)
		e.Line, e.Msg = line+yamlLineShift(problem), "YAML syntax: "+problem
	}
	return e
}

// yamlZeroBasedProblems are the yaml.v3 problems whose "line N" counts
// from zero (the parser's marks), so they would point one line early;
// the scanner's problems already count from one.
var yamlZeroBasedProblems = []string{
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found a tab character that violates indentation",
}

// yamlLineShift is what to add to yaml.v3's line for problem so that it
// names the line the user must edit.
func yamlLineShift(problem string) int {
	for _, p := range yamlZeroBasedProblems {
		if strings.HasPrefix(problem, p) {
			return 1
		}
	}
	return 0
}

// checker runs the checks that need the decoded spec as a whole.
type checker struct {
	*decoder
	sp  *Spec
	pos *positions
	l   Loader // where files are read
	// audience fields: attrs the audience file provides (nil: any attr).
	attrs        []string
	audienceHead []byte // the start of the audience file, for its header
	// warns are the warnings found while checking (sampleWarnings adds
	// those that need the audience's rows).
	warns []Warning
}

// readFiles reads every referenced file into Spec.Files, reporting a
// missing one at the position of its path in the campaign file.
func (c *checker) readFiles() {
	c.sp.Files = map[string][]byte{}
	for _, f := range c.pos.files {
		if f.rel == "" {
			continue
		}
		if filepath.IsAbs(f.rel) || !filepath.IsLocal(filepath.FromSlash(f.rel)) {
			c.errorf(f.node, "path %q must be relative to the repository root and stay inside it", f.rel)
			continue
		}
		if _, done := c.sp.Files[f.rel]; done {
			continue
		}
		full := filepath.Join(c.sp.Root, filepath.FromSlash(f.rel))
		if f.use == useAudience {
			c.readAudience(f, full)
			continue
		}
		b, err := c.l.readFile(full)
		if err != nil {
			c.errorf(f.node, "cannot read %s: %s", f.rel, pathErr(err))
			continue
		}
		c.sp.Files[f.rel] = b
	}
	c.audienceFields()
}

// readAudience hashes the audience file while keeping it in Files only
// when it is small, and keeps its first line for the field check.
func (c *checker) readAudience(f fileRef, full string) {
	fh, err := c.l.open(full)
	if err != nil && c.l.FS != nil && c.l.AudienceHash != "" && errors.Is(err, fs.ErrNotExist) {
		c.sp.AudienceHash = c.l.AudienceHash
		c.audienceHead = c.l.AudienceHead
		return
	}
	if err != nil {
		c.errorf(f.node, "cannot read %s: %s", f.rel, pathErr(err))
		return
	}
	defer fh.Close()
	h := sha256.New()
	// Only a file that may be kept whole is buffered whole, in one
	// allocation of its size; of a larger one only the head is kept.
	var head bytes.Buffer
	keep := MaxInlineAudience + 1
	if st, ok := fh.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			if fi.Size() > MaxInlineAudience {
				keep = audienceHeadSize
			}
			head.Grow(int(min(fi.Size()+1, int64(keep))))
		}
	}
	n, err := io.Copy(io.MultiWriter(h, &limitedBuffer{b: &head, max: keep}), fh)
	if err != nil {
		c.errorf(f.node, "cannot read %s: %s", f.rel, pathErr(err))
		return
	}
	c.sp.AudienceHash = hex.EncodeToString(h.Sum(nil))
	if n <= MaxInlineAudience {
		c.sp.Files[f.rel] = head.Bytes()
		c.checkAudienceRows(f, head.Bytes())
	}
	c.audienceHead = head.Bytes()[:min(head.Len(), audienceHeadSize)]
}

// audienceHeadSize is how much of an audience file is kept for its header.
const audienceHeadSize = 64 << 10

// checkAudienceRows refuses an audience file with nothing in it (a failed
// export: the run would have nobody to expand) and warns when it has a
// header and no rows, which sends nothing, silently otherwise.
func (c *checker) checkAudienceRows(f fileRef, b []byte) {
	if len(bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))) == 0 {
		c.errorf(f.node, "audience file %s is empty", f.rel)
		return
	}
	switch strings.ToLower(filepath.Ext(f.rel)) {
	case ".jsonl", ".ndjson", ".json":
		return // no header: any line is a row
	}
	rows := 0
	for i, line := range bytes.Split(b, []byte("\n")) {
		if i > 0 && len(bytes.TrimSpace(line)) > 0 {
			rows++
		}
	}
	if rows == 0 {
		c.warns = append(c.warns, Warning{File: c.file, Line: f.node.Line, Col: f.node.Column,
			Msg: fmt.Sprintf("audience file %s has a header and no rows: the campaign sends nothing", f.rel)})
	}
}

// warnings are the checker's warnings and those of the audience sample.
func (c *checker) warnings(sp *Spec) []Warning {
	return append(slices.Clone(c.warns), c.sampleWarnings(sp)...)
}

// limitedBuffer keeps the first max bytes written and discards the rest.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// checkCron accepts the standard 5-field syntax and descriptors such as
// @daily or @every 1h, as asynq's scheduler does.
func checkCron(spec string) error {
	if _, err := cron.ParseStandard(spec); err != nil {
		return fmt.Errorf("bad cron expression %q: %w", spec, err)
	}
	return nil
}

// hash is the SHA-256 of the campaign file and every referenced file by
// sorted path, so the same content always gives the same run key.
func (c *checker) hash(raw []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "campaign\x00%d\x00", len(raw))
	h.Write(raw)
	paths := make([]string, 0, len(c.sp.Files)+1)
	for p := range c.sp.Files {
		paths = append(paths, p)
	}
	if c.sp.Audience.File != "" && c.sp.Files[c.sp.Audience.File] == nil && c.sp.AudienceHash != "" {
		paths = append(paths, c.sp.Audience.File)
	}
	sort.Strings(paths)
	for _, p := range paths {
		b, ok := c.sp.Files[p]
		if !ok {
			fmt.Fprintf(h, "\x00%s\x00sha256:%s", p, c.sp.AudienceHash)
			continue
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// templateKind maps a file use to the render kind, false for files that
// are not templates.
func templateKind(u fileUse) (render.Kind, bool) {
	switch u {
	case useHTML:
		return render.HTML, true
	case useText, useSMS:
		return render.Text, true
	}
	return 0, false
}
