package main

import (
	"context"
	"strings"
	"testing"
)

// TestNewDatabaseNotice: the first command in a folder without a database
// says once, on stderr, that it creates one; later ones say nothing.
func TestNewDatabaseNotice(t *testing.T) {
	project(t)
	ctx := context.Background()
	c := &cli{t: t, env: map[string]string{}}
	const notice = "creating a new local database var/relais.db"
	r := c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	if n := strings.Count(r.stderr, notice); n != 1 || strings.Contains(r.stdout, notice) {
		t.Errorf("first run: notice %d times on stderr, want once\nstdout:\n%s\nstderr:\n%s", n, r.stdout, r.stderr)
	}
	if r := c.mustRun(ctx, "status"); strings.Contains(r.stderr+r.stdout, notice) {
		t.Errorf("status with an existing database repeats the notice:\n%s", r.stderr)
	}
}
