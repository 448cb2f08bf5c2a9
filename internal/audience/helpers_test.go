package audience

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/relais-dev/relais/internal/contact"
)

// writeFile writes data to name in a fresh temp dir and returns the path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// collect reads a whole source.
func collect(t *testing.T, src Source) []*contact.Contact {
	t.Helper()
	var out []*contact.Contact
	if err := src.Each(context.Background(), func(c *contact.Contact) error {
		out = append(out, c)
		return nil
	}); err != nil {
		t.Fatalf("Each: %v", err)
	}
	return out
}

// open opens an audience file or fails the test.
func open(t *testing.T, path string, m *Mapping) *FileSource {
	t.Helper()
	s, err := OpenFile(path, m)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return s
}

// win1252 encodes s the way a French Excel writes it.
func win1252(s string) []byte {
	b, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return []byte(b)
}

func boolp(b bool) *bool { return &b }

func lines(errs []RowError) []int {
	var l []int
	for _, e := range errs {
		l = append(l, e.Line)
	}
	return l
}
