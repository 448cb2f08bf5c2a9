package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ciCommands returns the relais command lines of each YAML recipe of
// docs/ci.md, with the CI variables naming the target branch replaced by
// base.
func ciCommands(t *testing.T, doc, base string) [][][]string {
	t.Helper()
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	cmdRe := regexp.MustCompile(`\brelais (validate|review)\b[^>|\n]*`)
	vars := strings.NewReplacer("${{ github.base_ref }}", base, "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME", base)
	var out [][][]string
	for _, bl := range blocks {
		var cmds [][]string
		for _, m := range cmdRe.FindAllString(bl[1], -1) {
			cmds = append(cmds, shellWords(vars.Replace(strings.TrimSpace(m)))[1:])
		}
		out = append(out, cmds)
	}
	return out
}

// shellWords splits a command line on spaces outside double quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}

// The GitHub Actions and GitLab CI recipes of docs/ci.md, run on a pull
// request branch against origin/main.
func TestCIRecipes(t *testing.T) {
	doc, err := filepath.Abs(filepath.Join("..", "..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	gitRepo(t)
	writeFile(t, "campaigns/soldes.yaml", soldesCampaign("attrs.orders_12m >= 5"))
	writeFile(t, "templates/soldes/sms.txt", "Soldes chez Maison Dupont. STOP au 36180\n")
	commitAll(t, "soldes")
	// What the CI checkout has: the target branch as a remote branch.
	gitRun(t, "update-ref", "refs/remotes/origin/main", "main")
	gitRun(t, "checkout", "-q", "-b", "pr")
	writeFile(t, "campaigns/soldes.yaml", soldesCampaign("attrs.orders_12m >= 1"))
	commitAll(t, "wider")

	recipes := ciCommands(t, doc, "main")
	if len(recipes) != 2 {
		t.Fatalf("%d YAML recipes in docs/ci.md, want 2 (GitHub Actions, GitLab CI)", len(recipes))
	}
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	for i, cmds := range recipes {
		if len(cmds) != 2 || cmds[0][0] != "validate" || cmds[1][0] != "review" {
			t.Fatalf("recipe %d: commands %q, want validate then review", i+1, cmds)
		}
		c.mustRun(ctx, cmds[0]...)
		r := c.mustRun(ctx, cmds[1]...)
		if !strings.Contains(r.stdout, "Compared with `origin/main`") || !strings.Contains(r.stdout, "| annonce | recipients | | | 1 new, 0 removed, 2 unchanged |") {
			t.Errorf("recipe %d: review:\n%s", i+1, r.stdout)
		}
	}

	writeFile(t, "templates/soldes/sms.txt", "Soldes chez Maison Dupont.\n")
	commitAll(t, "no stop")
	for i, cmds := range recipes {
		if r := c.run(ctx, cmds[1]...); r.code != exitUser || !strings.Contains(r.stdout, "`soldes:sms_stop`") {
			t.Errorf("recipe %d: review of a SMS without STOP: exit %d\n%s", i+1, r.code, r.stdout)
		}
	}
}
