package audience

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/relais-dev/relais/internal/contact"
)

// maxKeptRowErrors bounds the row errors a FileSource keeps for its
// report: a broken 1,000,000-row file must not fill memory with errors.
const maxKeptRowErrors = 100

// ErrFormat is wrapped by OpenFile and Fields for a file relais cannot read
// as an audience (unknown extension, bad header, unreadable encoding).
var ErrFormat = errors.New("unsupported audience file")

// FileSource streams contacts from a CSV or JSONL file, re-reading it on
// every Each so that memory never grows with the file. It is not safe for
// concurrent Each calls.
type FileSource struct {
	// Path is the file read.
	Path string
	// Mapping applies to every pass; nil maps nothing.
	Mapping *Mapping
	// OnRowError, when set, is called for every bad row (which is skipped
	// either way), once: passes after the first complete one (a Pareto top
	// reads the file twice) do not report the same rows again. The count
	// and the first 100 errors are always kept (RowErrors).
	OnRowError func(RowError)
	// OnRowWarning, when set, is called (on the first complete pass only,
	// like OnRowError) for what normalization changed in a kept row that
	// the user should know of: a line break folded in a name, a country
	// it could not read. Reason names the column, never quotes a cell.
	OnRowWarning func(RowError)

	format    string // "csv" or "jsonl"
	csv       csvFormat
	rowErrors []RowError
	errCount  int
	complete  bool // a pass reached the end of the file: row errors are known
}

// OpenFile checks that path is a readable audience file and prepares it:
// ".csv" (separator and encoding sniffed from the start of the file) or
// ".jsonl"/".ndjson". m may be nil. It reads only the head of the file; an
// unknown extension, an empty file or a bad header wraps ErrFormat.
func OpenFile(path string, m *Mapping) (*FileSource, error) {
	s := &FileSource{Path: path, Mapping: m}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".txt", ".tsv":
		s.format = "csv"
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("audience: %w", err)
		}
		defer f.Close()
		cf, err := sniffCSV(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
		}
		s.csv = cf
		if _, err := plan(cf.header, m); err != nil {
			return nil, fmt.Errorf("%w: %s:1: %w", ErrFormat, path, err)
		}
	case ".jsonl", ".ndjson":
		s.format = "jsonl"
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("audience: %w", err)
		}
	default:
		return nil, fmt.Errorf("%w: %s: want .csv, .jsonl or .ndjson", ErrFormat, path)
	}
	return s, nil
}

// Each calls fn with every valid contact of the file, in file order,
// normalized (contact.Normalize). Bad rows are skipped and reported
// through OnRowError and RowErrors. Each stops at the first error of fn or
// of ctx and returns it; I/O errors are wrapped.
func (s *FileSource) Each(ctx context.Context, fn func(c *contact.Contact) error) error {
	if !s.complete {
		s.rowErrors, s.errCount = s.rowErrors[:0], 0
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return fmt.Errorf("audience: %w", err)
	}
	defer f.Close()
	if s.format == "jsonl" {
		err = s.eachJSONL(ctx, f, fn)
	} else {
		err = s.eachCSV(ctx, f, fn)
	}
	if err == nil {
		s.complete = true
	}
	return err
}

// RowErrors returns the first bad rows (at most 100) and how many there
// were in total, as found by the first complete pass (or the pass under
// way).
func (s *FileSource) RowErrors() (first []RowError, total int) {
	return s.rowErrors, s.errCount
}

func (s *FileSource) rowError(line int, reason string) {
	if s.complete {
		return // already reported by an earlier pass
	}
	e := RowError{File: s.Path, Line: line, Reason: reason}
	s.errCount++
	if len(s.rowErrors) < maxKeptRowErrors {
		s.rowErrors = append(s.rowErrors, e)
	}
	if s.OnRowError != nil {
		s.OnRowError(e)
	}
}

func (s *FileSource) rowWarnings(line int, warns []string) {
	if s.complete || s.OnRowWarning == nil {
		return
	}
	for _, w := range warns {
		s.OnRowWarning(RowError{File: s.Path, Line: line, Reason: w})
	}
}

// Fields says what a file provides, from its header (CSV) or the keys of
// its first 1,000 records (JSONL, which has no header), so campaign
// validation can check template references without reading the audience.
// canonical lists canonical field names, attrs attribute names, both in
// file order.
func Fields(path string, m *Mapping) (canonical []string, attrs []string, err error) {
	s, err := OpenFile(path, m)
	if err != nil {
		return nil, nil, err
	}
	if s.format == "csv" {
		cols, err := plan(s.csv.header, m)
		if err != nil {
			return nil, nil, err
		}
		canonical, attrs = describe(cols)
		return canonical, attrs, nil
	}
	return jsonlFields(s)
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
