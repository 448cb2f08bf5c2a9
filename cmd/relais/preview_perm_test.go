//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPreviewFilesPrivate checks `relais preview` writes the rendered
// message (personal data) in a folder only its owner can enter, as a file
// only its owner can read, next to a private database.
func TestPreviewFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask: group and others could read
	defer syscall.Umask(old)
	dir := project(t)
	c := &cli{t: t, env: map[string]string{}}
	r := c.mustRun(context.Background(), "preview", "campaigns/printemps-2027.yaml", "--contact", "C001", "--out", "out/previews")
	eml := strings.TrimSpace(r.stdout)
	if !strings.HasSuffix(eml, ".eml") {
		t.Fatalf("preview printed %q, want the .eml path", r.stdout)
	}
	for _, f := range []struct {
		path string
		want os.FileMode
	}{
		{filepath.Join(dir, "out", "previews"), 0o700},
		{eml, 0o600},
		{filepath.Join(dir, "var"), 0o700},
		{filepath.Join(dir, "var", "relais.db"), 0o600},
	} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != f.want {
			t.Errorf("%s has mode %o, want %o", f.path, got, f.want)
		}
	}
}
