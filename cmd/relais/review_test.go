package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/review"
	"github.com/relais-dev/relais/internal/simulate"
)

// gitRepo makes a campaign repository in a temp dir (the sample audience,
// .gitignore'd var/) and makes it the working directory.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "samples"), filepath.Join(dir, "samples"))
	t.Chdir(dir)
	writeFile(t, ".gitignore", "var/\n")
	gitRun(t, "init", "-q", "-b", "main")
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitAll(t *testing.T, msg string) {
	t.Helper()
	gitRun(t, "add", "-A")
	gitRun(t, "commit", "-q", "-m", msg)
}

// soldesCampaign is a marketing SMS campaign on the sample audience.
func soldesCampaign(where string) string {
	return `id: soldes
purpose: marketing
audience:
  source: file
  file: samples/clients.csv
  where: '` + where + `'
channels: [sms]
sender:
  sms: DUPONT
steps:
  - id: annonce
    sms:
      text: templates/soldes/sms.txt
cost: { currency: EUR, sms: 0.05 }
`
}

func TestReviewPullRequest(t *testing.T) {
	gitRepo(t)
	writeFile(t, "campaigns/soldes.yaml", soldesCampaign("attrs.orders_12m >= 5"))
	writeFile(t, "templates/soldes/sms.txt", "Maison Dupont: soldes -20% des mercredi. STOP au 36180\n")
	commitAll(t, "soldes")

	// Second commit: a wider audience and a new text.
	writeFile(t, "campaigns/soldes.yaml", soldesCampaign("attrs.orders_12m >= 1"))
	writeFile(t, "templates/soldes/sms.txt", "{{.Contact.FirstName}}, soldes -30% des mercredi chez Maison Dupont https://dupont.example/soldes STOP au 36180\n")
	commitAll(t, "wider audience")

	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	r := c.mustRun(ctx, "review", "--base", "HEAD~1")
	for _, want := range []string{
		"### soldes — `campaigns/soldes.yaml` (changed)",
		"| annonce | sms | 2 | 3 | +1 |",
		"| annonce | refused: invalid_address | 0 | 1 | +1 |",
		"| annonce | refused: no_address | 0 | 2 | +2 |",
		"| annonce | refused: opted_out | 0 | 1 | +1 |",
		"| annonce | recipients | | | 1 new, 0 removed, 2 unchanged |",
		"0.10 EUR → **0.15 EUR** (+0.05)",
		"**annonce / sms, sample recipient 1** — changed",
		"Camille, soldes -30% des mercredi chez Maison Dupont https://dupont.example/soldes STOP au 36180",
		"| annonce | sms | GSM-7 | 1 |",
		"| annonce | dupont.example | dupont.example | — |",
		"All checks passed.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("review lacks %q:\n%s", want, r.stdout)
		}
	}

	r = c.mustRun(ctx, "review", "--base", "HEAD~1", "--json")
	var rep review.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Campaigns) != 1 || rep.Campaigns[0].Steps[0].Change != (review.Change{New: 1, Unchanged: 2}) {
		t.Errorf("json review: %+v", rep.Campaigns)
	}
	if got := rep.Campaigns[0].Cost; got < 0.1499 || got > 0.1501 {
		t.Errorf("cost %v, want 0.15", got)
	}

	// Third commit: the STOP mention is gone.
	writeFile(t, "templates/soldes/sms.txt", "{{.Contact.FirstName}}, soldes -30% des mercredi chez Maison Dupont\n")
	commitAll(t, "no stop")
	r = c.run(ctx, "review", "--base", "HEAD~1")
	if r.code != exitUser {
		t.Fatalf("exit %d, want %d\n%s\n%s", r.code, exitUser, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "`soldes:sms_stop`") || !strings.Contains(r.stderr, "soldes:sms_stop") {
		t.Errorf("the failing check is not named:\n%s\n%s", r.stdout, r.stderr)
	}
}

func TestReviewNothingChanged(t *testing.T) {
	gitRepo(t)
	writeFile(t, "campaigns/soldes.yaml", soldesCampaign("attrs.orders_12m >= 5"))
	writeFile(t, "templates/soldes/sms.txt", "Soldes chez Maison Dupont. STOP au 36180\n")
	commitAll(t, "soldes")
	writeFile(t, "README.md", "campaigns\n")
	commitAll(t, "readme")
	c := &cli{t: t, env: map[string]string{}}
	r := c.mustRun(context.Background(), "review", "--base", "HEAD~1")
	if !strings.Contains(r.stdout, "No campaign or template changed.") {
		t.Errorf("review:\n%s", r.stdout)
	}

	gitRun(t, "rm", "-q", "campaigns/soldes.yaml")
	commitAll(t, "no more soldes")
	r = c.mustRun(context.Background(), "review", "--base", "HEAD~1")
	if !strings.Contains(r.stdout, "### soldes — `campaigns/soldes.yaml` (removed)") {
		t.Errorf("review of a removed campaign:\n%s", r.stdout)
	}
}

// A new campaign with a letter and a scheduled SMS: the letter's first
// page is rendered when pdftoppm is installed (or the report says it is
// not), the missing postal opt-out mention and a schedule firing on
// 14 July fail their checks, and the next firings are listed.
func TestReviewLetterAndSchedule(t *testing.T) {
	gitRepo(t)
	writeFile(t, "README.md", "campaigns\n")
	commitAll(t, "empty")
	writeFile(t, "campaigns/fete.yaml", `id: fete
purpose: marketing
audience:
  source: file
  file: samples/clients.csv
  where: 'attrs.orders_12m >= 5'
sender:
  sms: DUPONT
  postal: { name: Maison Dupont, lines: ["12 rue des Lilas", "69003 LYON"] }
schedule: { cron: "0 10 14 7 *", timezone: Europe/Paris }
steps:
  - id: lettre
    channels: [print]
    print: { letter: templates/fete/lettre.md, subject: "Bonne fête" }
  - id: sms
    channels: [sms]
    sms: { text: templates/fete/sms.txt }
cost: { currency: EUR, print: 0.70, sms: 0.05 }
`)
	writeFile(t, "templates/fete/lettre.md", "Bonjour {{.Contact.FirstName}}, profitez de nos offres sur https://fete.example/offres.\n")
	writeFile(t, "templates/fete/sms.txt", "Maison Dupont : offres de fête. STOP au 36180\n")
	commitAll(t, "fete")
	out := t.TempDir()
	c := &cli{t: t, env: map[string]string{}}
	r := c.run(context.Background(), "review", "--base", "HEAD~1", "--out", out)
	if r.code != exitUser {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"### fete — `campaigns/fete.yaml` (new)",
		"**2 check(s) failed:** `fete:postal_opt_out:lettre`, `fete:quiet_hours:sms`",
		"| lettre | print | — | 2 | new |",
		"0.00 EUR → **1.50 EUR** (+1.50)",
		"Next firings (Europe/Paris):",
		"| lettre | fete.example | fete.example | — |",
		"starts outside the 08:00–20:00 window (or on a public holiday)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("review lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		if !strings.Contains(r.stdout, "pdftoppm is not installed") {
			t.Errorf("no note about pdftoppm:\n%s", r.stdout)
		}
		return
	}
	if !strings.Contains(r.stdout, "First page: `fete-lettre-print-1.png`") {
		t.Errorf("no letter image:\n%s", r.stdout)
	}
	if fi, err := os.Stat(filepath.Join(out, "fete-lettre-print-1.png")); err != nil || fi.Size() == 0 {
		t.Errorf("letter image: %v", err)
	}
}

// With an audience from the contact base, both versions are planned
// against the same imported contacts and their recorded consent.
func TestReviewContactsAudience(t *testing.T) {
	gitRepo(t)
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	c.mustRun(ctx, "contacts", "import", "samples/clients.csv")
	fromContacts := func(where string) string {
		return strings.Replace(soldesCampaign(where), "  source: file\n  file: samples/clients.csv\n", "  source: contacts\n", 1)
	}
	writeFile(t, "campaigns/soldes.yaml", fromContacts("attrs.orders_12m >= 5"))
	writeFile(t, "templates/soldes/sms.txt", "Soldes chez Maison Dupont. STOP au 36180\n")
	commitAll(t, "soldes")
	writeFile(t, "campaigns/soldes.yaml", fromContacts("attrs.orders_12m >= 1"))
	commitAll(t, "wider")
	r := c.mustRun(ctx, "review", "--base", "HEAD~1", "--json")
	var rep review.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Campaigns) != 1 || len(rep.Campaigns[0].Steps) != 1 {
		t.Fatalf("review: %s", r.stdout)
	}
	st := rep.Campaigns[0].Steps[0]
	if st.Base.Planned != 2 || st.Head.Planned != 3 || st.Head.ByReason["opted_out"] != 1 || st.Head.ByReason["no_address"] != 2 ||
		st.Change != (review.Change{New: 1, Unchanged: 2}) {
		t.Errorf("review from contacts: base %+v, head %+v, change %+v", st.Base, st.Head, st.Change)
	}

	// The same campaign simulated on 1 May: every SMS waits for Monday,
	// past the simulated day; nothing is written to the store.
	r = c.mustRun(ctx, "simulate", "campaigns/soldes.yaml", "--from", "2027-05-01T10:00:00+02:00", "--days", "1", "--json")
	var res simulate.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if s := res.Steps[0]; s.Sent != 0 || s.Deferred != 3 || s.Refused["opted_out"] != 1 {
		t.Errorf("simulate from contacts: %+v", s)
	}
	r = c.mustRun(ctx, "status", "--json")
	if strings.Contains(r.stdout, "soldes") {
		t.Errorf("simulate or review created a run:\n%s", r.stdout)
	}
}

// Without --base, review compares with the merge base of the default
// branch, uncommitted changes included.
func TestReviewDefaultBase(t *testing.T) {
	gitRepo(t)
	writeFile(t, "campaigns/soldes.yaml", soldesCampaign("attrs.orders_12m >= 5"))
	writeFile(t, "templates/soldes/sms.txt", "Soldes chez Maison Dupont. STOP au 36180\n")
	commitAll(t, "soldes")
	base := gitRun(t, "rev-parse", "HEAD")
	gitRun(t, "checkout", "-q", "-b", "pr")
	writeFile(t, "templates/soldes/sms.txt", "Soldes d'été : façades et fenêtres. STOP au 36180\n") // not committed
	c := &cli{t: t, env: map[string]string{}}
	r := c.mustRun(context.Background(), "review")
	for _, want := range []string{"Compared with `" + base + "` (" + base[:12] + ")", "| annonce | sms | UCS-2 | 1 |", "— changed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("review lacks %q:\n%s", want, r.stdout)
		}
	}
}
