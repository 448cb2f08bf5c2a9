package print

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// appendLetter appends one spool line "<sortkey>\t<id>\t<json>\n" with a
// single write, so concurrent Sends never interleave within a line.
func (b *Batcher) appendLetter(run, key, id string, data []byte) error {
	line := make([]byte, 0, len(key)+len(id)+len(data)+3)
	line = append(line, key...)
	line = append(line, '\t')
	line = append(line, id...)
	line = append(line, '\t')
	line = append(line, data...)
	line = append(line, '\n')
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.spools[run]
	if f == nil {
		dir := filepath.Join(b.dir, "spool", run, "letters")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("print: spool: %w", err)
		}
		// One file per process and Batcher: several workers may spool the
		// same run into a shared directory.
		name := fmt.Sprintf("letters-%d-%s.jsonl", os.Getpid(), uuid.NewString()[:8])
		var err error
		f, err = os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("print: spool: %w", err)
		}
		if b.spools == nil {
			b.spools = map[string]*os.File{}
		}
		b.spools[run] = f
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("print: spool: %w", err)
	}
	return nil
}

func (b *Batcher) closeSpools() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for run, f := range b.spools {
		errs = append(errs, f.Close())
		delete(b.spools, run)
	}
	return errors.Join(errs...)
}

// spoolEntry locates one letter in a spool file.
type spoolEntry struct {
	key, id string
	file    string
	off     int64
	n       int
}

// spooled indexes the letters of run in print order (sort key, then id),
// keeping the last line written for each letter id.
func (b *Batcher) spooled(run string) ([]spoolEntry, error) {
	dir := filepath.Join(b.dir, "spool", run, "letters")
	files, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("print: list spool: %w", err)
	}
	last := map[string]spoolEntry{}
	for _, fe := range files {
		if !strings.HasSuffix(fe.Name(), ".jsonl") {
			continue
		}
		if err := indexFile(filepath.Join(dir, fe.Name()), last); err != nil {
			return nil, err
		}
	}
	out := make([]spoolEntry, 0, len(last))
	for _, e := range last {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key != out[j].key {
			return out[i].key < out[j].key
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

func indexFile(path string, last map[string]spoolEntry) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("print: read spool: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var off int64
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long letter: read the rest of the line.
			rest, err2 := r.ReadBytes('\n')
			line = append(append([]byte(nil), line...), rest...)
			err = err2
		}
		if errors.Is(err, io.EOF) {
			return nil // a line without "\n" is a write in progress: skip it
		}
		if err != nil {
			return fmt.Errorf("print: read spool: %w", err)
		}
		parts := bytes.SplitN(line, []byte{'\t'}, 3)
		if len(parts) == 3 {
			id := string(parts[1])
			head := len(parts[0]) + len(parts[1]) + 2
			last[id] = spoolEntry{key: string(parts[0]), id: id, file: path,
				off: off + int64(head), n: len(line) - head - 1}
		}
		off += int64(len(line))
	}
}

// readLetter decodes the letter e points to.
func readLetter(e spoolEntry) (*letter, error) {
	f, err := os.Open(e.file)
	if err != nil {
		return nil, fmt.Errorf("print: read spool: %w", err)
	}
	defer f.Close()
	buf := make([]byte, e.n)
	if _, err := f.ReadAt(buf, e.off); err != nil {
		return nil, fmt.Errorf("print: read spool: %w", err)
	}
	var l letter
	if err := json.Unmarshal(buf, &l); err != nil {
		return nil, fmt.Errorf("print: decode spooled letter %s: %w", e.id, err)
	}
	return &l, nil
}
