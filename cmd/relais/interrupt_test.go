package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const loopYAML = `id: boucle
name: Boucle
purpose: marketing
audience: { source: file, file: audiences/loop.csv }
channels: [email]
sender: { email: "Maison Dupont <news@dupont.example>" }
steps:
  - id: lettre
    email: { subject: "S", text: templates/t/loop.txt }
`

// loopProject is a campaign whose template loops, without writing, over a
// number from the audience file: only the render budget can stop it.
func loopProject(t *testing.T, yaml string) {
	t.Helper()
	dir := serveProject(t, map[string]string{"boucle.yaml": loopYAML})
	files := map[string]string{
		"audiences/loop.csv":   "external_id;first_name;email;kind;consent_email;n\nL1;Zoé;zoe@example.org;person;oui;999999999999\n",
		"templates/t/loop.txt": "{{range .Contact.Attrs.n}}{{end}}Bonjour\n",
		"relais.yaml":          yaml,
	}
	for p, s := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPreviewLoopStopsAtBudget checks a template looping on data fails
// with a render error at the budget instead of running for ever.
func TestPreviewLoopStopsAtBudget(t *testing.T) {
	loopProject(t, "render_timeout: 100ms\n")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"preview", "campaigns/boucle.yaml", "--contact", "L1", "--out", t.TempDir()},
		func(string) string { return "" }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("preview of a looping template: %v, want a time-out error", err)
	}
}

// TestPreviewEndsOnSignal checks `preview` returns promptly once its
// context is cancelled (SIGTERM in main) while a template is looping,
// even with a budget of an hour.
func TestPreviewEndsOnSignal(t *testing.T) {
	loopProject(t, "render_timeout: 1h\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out, errb bytes.Buffer
		done <- run(ctx, []string{"preview", "campaigns/boucle.yaml", "--contact", "L1", "--out", t.TempDir()},
			func(string) string { return "" }, &out, &errb)
	}()
	waitUntil(t, "the template to be looping", 30*time.Second, func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "text/template.(*state).walkRange")
	})
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("preview succeeded after being interrupted")
		}
	case <-time.After(time.Second):
		t.Fatal("preview still running 1 s after the signal")
	}
}

// TestValidateListsLinkHosts checks validate names, per step, the hosts
// click tracking will sign links to (the templates' and the campaign's
// link_hosts), in text and JSON, and refuses a range
// over a time value.
func TestValidateListsLinkHosts(t *testing.T) {
	project(t)
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	if r := c.mustRun(ctx, "validate", "campaigns/printemps-2027.yaml"); !strings.Contains(r.stdout, "step annonce: link hosts: dupont.example\n") {
		t.Errorf("validate output lacks the link hosts:\n%s", r.stdout)
	}
	if r := c.mustRun(ctx, "validate", "--json", "campaigns/printemps-2027.yaml"); !strings.Contains(r.stdout, `"step":"annonce","hosts":["dupont.example"]`) {
		t.Errorf("validate --json lacks the link hosts:\n%s", r.stdout)
	}
	// A campaign's link_hosts are listed with every step's.
	raw, err := os.ReadFile("campaigns/printemps-2027.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("campaigns/printemps-2027.yaml", append(raw, "link_hosts: [orders.dupont.example]\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.mustRun(ctx, "validate", "campaigns/printemps-2027.yaml"); !strings.Contains(r.stdout, "step annonce: link hosts: dupont.example, orders.dupont.example\n") {
		t.Errorf("validate output lacks the campaign's link_hosts:\n%s", r.stdout)
	}
	if err := os.WriteFile("templates/printemps/email.txt", []byte("{{range .Now.UnixNano}}{{end}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.run(ctx, "validate", "campaigns/printemps-2027.yaml"); r.code != exitUser || !strings.Contains(r.stdout, "range over") {
		t.Errorf("validate of {{range .Now.UnixNano}}: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
