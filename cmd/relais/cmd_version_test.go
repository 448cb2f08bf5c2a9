package main

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: --version and `version` say which build this is, with or
// without a configuration, and `version --json` is parseable.
func TestVersion(t *testing.T) {
	t.Chdir(t.TempDir())
	old := [3]string{version, commit, buildDate}
	version, commit, buildDate = "1.2.3", "abc123", "2027-01-02T03:04:05Z"
	t.Cleanup(func() { version, commit, buildDate = old[0], old[1], old[2] })
	c := &cli{t: t, env: map[string]string{}}
	want := "relais 1.2.3 (commit abc123, " + runtime.Version() + ", built 2027-01-02T03:04:05Z)\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if r := c.mustRun(context.Background(), args...); r.stdout != want {
			t.Errorf("relais %s: %q, want %q", strings.Join(args, " "), r.stdout, want)
		}
	}
	r := c.mustRun(context.Background(), "version", "--json")
	var b buildInfo
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
		t.Fatalf("version --json: %v in %q", err, r.stdout)
	}
	if b != (buildInfo{"1.2.3", "abc123", runtime.Version(), "2027-01-02T03:04:05Z"}) {
		t.Errorf("version --json: %+v", b)
	}
	// A broken configuration does not keep `version` from answering.
	c.env["RELAIS_CONCURRENCY"] = "many"
	c.mustRun(context.Background(), "version")
}
