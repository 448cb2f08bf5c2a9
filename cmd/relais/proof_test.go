package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// proofCLI is the CLI in embedded mode (in-process queue and workers,
// SQLite) sending email through the in-process SMTP server.
func proofCLI(t *testing.T, dir string, smtp *testenv.SMTPServer) *cli {
	return &cli{t: t, env: map[string]string{
		"RELAIS_DATABASE_URL": "sqlite:" + filepath.Join(dir, "var", "relais.db"),
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       proofSecret,
		"RELAIS_LOG_LEVEL":    "error",
	}}
}

const proofSecret = "test-secret-0123456789abcdef"

var versionRE = regexp.MustCompile(`--version ([0-9a-f]{12})`)

// TestProofApproveRun sends proofs of a campaign with approval: required
// to a reviewer: exactly three messages (the first three recipients),
// marked [BAT] with the banner, without tracking links, and no send in the
// ledger. run then exits 1 naming the missing approval; an approval of an
// earlier version does not count; after the approval of this version's
// proof the run sends.
func TestProofApproveRun(t *testing.T) {
	dir := project(t)
	smtp := testenv.StartSMTP(t)
	c := proofCLI(t, dir, smtp)
	bg := context.Background()
	const file = "campaigns/printemps-2027.yaml"
	appendFile(t, file, "approval: required\n")
	const reviewer = "relecture@dupont.example"

	r := c.mustRun(bg, "proof", file, "--to", reviewer)
	if !smtp.WaitFor(3, 10*time.Second) || smtp.Count() != 3 {
		t.Fatalf("proof: SMTP got %d messages, want 3\n%s", smtp.Count(), r.stdout)
	}
	v1 := versionRE.FindStringSubmatch(r.stdout)
	if v1 == nil {
		t.Fatalf("proof does not print the approve command:\n%s", r.stdout)
	}
	// The first three recipients the audience filter keeps (orders_12m >= 1).
	want := []string{"Camille Durand <camille.durand@example.org> (C001)", "Julien Moreau <julien.moreau@example.org> (C002)",
		"Léa Lefèvre <lea.lefevre@example.net> (C003)"}
	for i, m := range smtp.Messages() {
		if len(m.To) != 1 || m.To[0] != reviewer {
			t.Errorf("proof %d went to %v, want the reviewer only", i, m.To)
		}
		pm := parseMail(t, m.Data)
		if !strings.HasPrefix(pm.Subject, "[BAT] ") {
			t.Errorf("proof %d subject %q lacks [BAT]", i, pm.Subject)
		}
		banner := "message of " + want[i] + " — campaign printemps-2027 version " + v1[1]
		for part, body := range map[string]string{"html": pm.HTML, "text": pm.Text} {
			if !strings.Contains(unescapeHTML(body), banner) {
				t.Errorf("proof %d %s part lacks the banner %q:\n%s", i, part, banner, body)
			}
			if strings.Contains(body, "/c/") || strings.Contains(body, "/o/") || strings.Contains(body, "/u/") {
				t.Errorf("proof %d %s part carries a tracking or unsubscribe link:\n%s", i, part, body)
			}
			if !strings.Contains(body, "https://dupont.example/printemps") {
				t.Errorf("proof %d %s part lost the campaign's link", i, part)
			}
		}
		if lu := pm.Header.Get("List-Unsubscribe"); lu != "" {
			t.Errorf("proof %d carries List-Unsubscribe %q", i, lu)
		}
	}
	if st := c.mustRun(bg, "status", "--json").stdout; strings.TrimSpace(st) != "[]" {
		t.Errorf("proofs made runs or ledger rows: status --json = %s", st)
	}

	if plan := c.mustRun(bg, "plan", file).stdout; !strings.Contains(plan, "approval required: version "+v1[1]+" is NOT approved") {
		t.Errorf("plan does not say the version is not approved:\n%s", plan)
	}
	r = c.run(bg, "run", file)
	wantErr := "campaign printemps-2027 version " + v1[1] + " needs an approved proof: relais approve " + file + " --version " + v1[1] + " --by NAME"
	if r.code != 1 || !strings.Contains(r.stderr, wantErr) {
		t.Fatalf("run without approval: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, wantErr)
	}
	if r := c.run(bg, "approve", file, "--version", "abcdef0123", "--by", "Claire"); r.code != 1 || !strings.Contains(r.stderr, "has no proof") {
		t.Errorf("approve of a version without proof: exit %d, %s", r.code, r.stderr)
	}
	c.mustRun(bg, "approve", file, "--version", v1[1], "--by", "Claire", "--note", "ok pour v1")

	// Version 2: the template changes after the approval of version 1.
	appendFile(t, filepath.Join(dir, "templates", "printemps", "email.txt"), "\nPS : livraison offerte.\n")
	r = c.run(bg, "run", file)
	v2 := versionRE.FindStringSubmatch(r.stderr)
	if r.code != 1 || v2 == nil || v2[1] == v1[1] || !strings.Contains(r.stderr, "needs an approved proof") {
		t.Fatalf("run of version 2 with version 1 approved: exit %d, stderr %q; want 1 naming the new version", r.code, r.stderr)
	}
	c.mustRun(bg, "proof", file, "--to", reviewer, "--contact", "C008")
	if !smtp.WaitFor(4, 10*time.Second) || smtp.Count() != 4 {
		t.Fatalf("second proof: SMTP got %d in all, want 4", smtp.Count())
	}
	c.mustRun(bg, "approve", "printemps-2027", "--version", v2[1], "--by", "Marc")
	if plan := c.mustRun(bg, "plan", file).stdout; !strings.Contains(plan, "approval required: version "+v2[1]+" approved by Marc at ") {
		t.Errorf("plan does not show the approval:\n%s", plan)
	}
	r = c.mustRun(bg, "run", file, "--wait")
	if !strings.Contains(r.stdout, "5 to send") {
		t.Fatalf("approved run says:\n%s", r.stdout)
	}
	if !smtp.WaitFor(9, 10*time.Second) || smtp.Count() != 9 {
		t.Fatalf("approved run: SMTP got %d in all, want 4 proofs + 5 sends", smtp.Count())
	}
	st := c.mustRun(bg, "status", "1").stdout
	if !strings.Contains(st, "approved by Marc at ") || strings.Contains(st, "Claire") {
		t.Errorf("status of the run does not show its version's approval (only):\n%s", st)
	}
	var rep struct {
		Approvals []struct {
			Version, By, Note string
		} `json:"approvals"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(bg, "report", file, "--json").stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Approvals) != 2 || rep.Approvals[0].By != "Claire" || rep.Approvals[0].Note != "ok pour v1" || rep.Approvals[1].By != "Marc" ||
		!strings.HasPrefix(rep.Approvals[1].Version, v2[1]) {
		t.Errorf("report approvals = %+v", rep.Approvals)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&amp;", "&").Replace(s)
}
