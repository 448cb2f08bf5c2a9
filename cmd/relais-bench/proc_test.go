package main

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
)

// sink keeps the test's large buffer reachable while the child runs.
var sink []byte

// A child's peak RSS is its own, not the harness's: with 256 MiB resident
// in the harness, a shell that exits at once measures a few MiB (wait4's
// ru_maxrss would say at least 256).
func TestProcPeakRSSIsTheChilds(t *testing.T) {
	sink = make([]byte, 256<<20)
	for i := 0; i < len(sink); i += 4096 {
		sink[i] = 1
	}
	dir := t.TempDir()
	p, err := startRelais(context.Background(), "/bin/sh", dir, filepath.Join(dir, "log"), nil, "-c", "sleep 0.2")
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.wait()
	runtime.KeepAlive(sink)
	sink = nil
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxRSSMB <= 0 || st.MaxRSSMB >= 64 {
		t.Errorf("peak RSS of sh -c 'sleep 0.2' = %.1f MiB, want its own few MiB", st.MaxRSSMB)
	}
}
