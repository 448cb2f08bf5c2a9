package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestEmptyAudience: an empty audience file fails validate and run with
// exit 1 and leaves no run behind; a header-only one passes validate with
// a warning and its run finishes (0 sent), never stuck in "expanding".
func TestEmptyAudience(t *testing.T) {
	project(t)
	ctx := context.Background()
	c := &cli{t: t, env: map[string]string{}}
	b, err := os.ReadFile("samples/clients.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("samples/clients.csv", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := c.run(ctx, "validate"); r.code != 1 || !strings.Contains(r.stdout, "campaigns/printemps-2027.yaml:9:9: audience file samples/clients.csv is empty") {
		t.Errorf("validate on an empty audience: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := c.run(ctx, "run", "campaigns/printemps-2027.yaml", "--wait"); r.code != 1 || !strings.Contains(r.stderr, "is empty") {
		t.Errorf("run on an empty audience: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if st := c.mustRun(ctx, "status").stdout; strings.Contains(st, "expanding") {
		t.Errorf("a run was left expanding:\n%s", st)
	}

	header, _, _ := strings.Cut(string(b), "\n")
	if err := os.WriteFile("samples/clients.csv", []byte(header+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := c.mustRun(ctx, "validate"); !strings.Contains(r.stdout, "warning: audience file samples/clients.csv has a header and no rows") {
		t.Errorf("validate on a header-only audience:\n%s", r.stdout)
	}
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	if st := c.mustRun(ctx, "status").stdout; strings.Contains(st, "expanding") || !strings.Contains(st, "done") {
		t.Errorf("header-only run is not done:\n%s", st)
	}
}
