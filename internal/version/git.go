package version

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// GitCommit returns the commit checked out in the git work tree holding
// dir, read from the .git folder (no git binary needed), or "" when dir is
// not in a checkout or the commit cannot be read.
func GitCommit(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		gitDir := filepath.Join(abs, ".git")
		if fi, err := os.Stat(gitDir); err == nil {
			if !fi.IsDir() {
				// A linked work tree: ".git" is a file "gitdir: <path>".
				b, err := os.ReadFile(gitDir)
				if err != nil {
					return ""
				}
				p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
				if !ok {
					return ""
				}
				if !filepath.IsAbs(p) {
					p = filepath.Join(abs, p)
				}
				gitDir = p
			}
			return headCommit(gitDir)
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return ""
		}
		abs = parent
	}
}

// headCommit resolves HEAD in a git directory: a detached commit, a loose
// ref, or a packed one (looked up in the common directory of a linked
// work tree too).
func headCommit(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, ok := strings.CutPrefix(head, "ref: ")
	if !ok {
		return head
	}
	dirs := []string{gitDir}
	if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		p := strings.TrimSpace(string(c))
		if !filepath.IsAbs(p) {
			p = filepath.Join(gitDir, p)
		}
		dirs = append(dirs, p)
	}
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(ref))); err == nil {
			return strings.TrimSpace(string(b))
		}
		packed, err := os.ReadFile(filepath.Join(d, "packed-refs"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(packed))
		for sc.Scan() {
			if sha, name, ok := strings.Cut(sc.Text(), " "); ok && name == ref {
				return sha
			}
		}
	}
	return ""
}
