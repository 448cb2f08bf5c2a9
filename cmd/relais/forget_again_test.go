package main

import (
	"context"
	"strings"
	"testing"
)

// TestForgetAgainAndUnknownCommand: forgetting an erased contact again by
// its external id, email or phone exits 0 and says so; an unknown reference is a user
// error; a mistyped command is a user error (1) with a suggestion.
func TestForgetAgainAndUnknownCommand(t *testing.T) {
	project(t)
	ctx := context.Background()
	c := &cli{t: t, env: map[string]string{}}
	c.mustRun(ctx, "contacts", "import", "samples/clients.csv")
	c.mustRun(ctx, "contacts", "forget", "julien.moreau@example.org")
	for _, ref := range []string{"C002", "julien.moreau@example.org", "06 23 45 67 89"} {
		r := c.run(ctx, "contacts", "forget", ref)
		if r.code != 0 || !strings.Contains(r.stdout, "already erased") {
			t.Errorf("forget %s again: exit %d\n%s%s", ref, r.code, r.stdout, r.stderr)
		}
	}
	if r := c.run(ctx, "contacts", "forget", "nobody@example.org"); r.code != 1 || !strings.Contains(r.stderr, "no contact") {
		t.Errorf("forget an unknown address: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := c.run(ctx, "statu")
	if r.code != 1 || !strings.Contains(r.stderr, `unknown command "statu"`) || !strings.Contains(r.stderr, "status") || r.stdout != "" {
		t.Errorf("unknown command: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
