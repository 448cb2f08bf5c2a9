package scheduler

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitCommit reads the checked-out commit from .git layouts written by
// hand (loose ref, packed ref, detached HEAD, worktree "gitdir:" file),
// and from a repository made by the real git when it is installed.
func TestGitCommit(t *testing.T) {
	const a = "0123456789abcdef0123456789abcdef01234567"
	const b = "89abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		files map[string]string // relative to the repository root
		want  string
	}{
		{name: "loose ref", files: map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": a + "\n"}, want: a},
		{name: "packed ref", files: map[string]string{".git/HEAD": "ref: refs/heads/main\n",
			".git/packed-refs": "# pack-refs with: peeled fully-peeled sorted\n" + b + " refs/heads/other\n" + a + " refs/heads/main\n^" + b + "\n"}, want: a},
		{name: "detached", files: map[string]string{".git/HEAD": b + "\n"}, want: b},
		{name: "worktree", files: map[string]string{".git": "gitdir: ../main/.git/worktrees/wt\n",
			"../main/.git/worktrees/wt/HEAD": "ref: refs/heads/feature\n", "../main/.git/worktrees/wt/commondir": "../..\n",
			"../main/.git/refs/heads/feature": b + "\n"}, want: b},
		{name: "unborn branch", files: map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, want: ""},
		{name: "not a checkout", files: map[string]string{"README": "x"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "repo")
			for p, c := range tt.files {
				full := filepath.Join(root, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dir := filepath.Join(root, "campaigns")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if got := GitCommit(dir); got != tt.want {
				t.Errorf("GitCommit = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("real git", func(t *testing.T) {
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("git not installed; the hand-written layouts above cover the format")
		}
		dir := repo(t, yamlWith("v1", ""))
		root := filepath.Dir(dir)
		gitCmd := func(args ...string) string {
			t.Helper()
			cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"}, args...)...)
			cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		gitCmd("init", "-q", "-b", "main")
		gitCmd("add", ".")
		gitCmd("commit", "-q", "-m", "first")
		want := gitCmd("rev-parse", "HEAD")
		if got := GitCommit(dir); got != want {
			t.Fatalf("GitCommit = %q, want %q", got, want)
		}
		gitCmd("pack-refs", "--all")
		if got := GitCommit(dir); got != want {
			t.Fatalf("after pack-refs GitCommit = %q, want %q", got, want)
		}
	})
}
