package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// A run names its campaign version and the commit that introduced it;
// once the template changes on disk, show says the files no longer match
// and prints the run's files from that commit.
func TestShowRunVersionAndReport(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gitRepo(t)
	for _, d := range []string{"campaigns", "templates"} {
		copyDir(t, filepath.Join(src, d), d)
	}
	commitAll(t, "printemps")
	commit := gitRun(t, "rev-parse", "HEAD")

	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")
	r := c.mustRun(ctx, "show", "1")
	for _, want := range []string{"run 1 of printemps-2027", "git commit " + commit, "match the run's version", "templates/printemps/email.txt  sha256 "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = c.mustRun(ctx, "report", "printemps-2027")
	if !strings.Contains(r.stdout, "run 1: version ") || !strings.Contains(r.stdout, "git commit "+commit[:12]) {
		t.Errorf("report does not name the version:\n%s", r.stdout)
	}

	// The template changes and is committed: the run's files are now
	// only in the history.
	writeFile(t, "templates/printemps/email.txt", "Bonjour {{.Contact.FirstName}}\nSe désinscrire : {{.Links.Unsubscribe}}\n")
	commitAll(t, "shorter text")
	r = c.mustRun(ctx, "show", "1", "--content")
	for _, want := range []string{"WARNING: the files on disk", "no longer match the run's version", "from git commit " + commit[:12], "15 % de remise"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = c.mustRun(ctx, "show", "1", "--json")
	var out struct {
		Commit  string `json:"git_commit"`
		Source  string `json:"source"`
		Matches bool   `json:"files_match"`
		Files   []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.Commit != commit || out.Source != "git" || out.Matches || len(out.Files) == 0 {
		t.Errorf("show --json: %+v", out)
	}
	if r := c.run(ctx, "show", "42"); r.code != exitUser {
		t.Errorf("show 42: exit %d", r.code)
	}
}
