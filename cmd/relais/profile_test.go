package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestMemProfileKeepsAPeakHeapProfile checks RELAIS_MEM_PROFILE's
// writer: after its first check the file holds a heap profile, written
// whole, and stderr says what the peak was made of.
func TestMemProfileKeepsAPeakHeapProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pprof")
	var stderr syncBuffer
	stop := startMemProfile(path, &stderr)
	testenv.WaitFor(t, "the heap profile", 10*time.Second, func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
	stop()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A pprof profile is a gzipped protocol buffer naming its sample
	// types; a heap profile's include inuse_space.
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a pprof profile: %v", err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("not a pprof profile: %v", err)
	}
	if !bytes.Contains(raw, []byte("inuse_space")) {
		t.Errorf("the profile is not a heap profile (no inuse_space sample type)")
	}
	if out := stderr.String(); !strings.Contains(out, "RELAIS_MEM_PROFILE: heap objects") || !strings.Contains(out, "goroutines") {
		t.Errorf("stderr = %q", out)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}
