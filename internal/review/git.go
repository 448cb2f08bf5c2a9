package review

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Git runs git in a repository.
type Git struct{ Dir string }

func (g Git) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil { // interrupted: git was killed, its error says nothing more
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), ctx.Err())
		}
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Toplevel is the repository's root folder.
func (g Git) Toplevel(ctx context.Context) (string, error) {
	return g.run(ctx, "rev-parse", "--show-toplevel")
}

// Commit resolves ref to a commit hash.
func (g Git) Commit(ctx context.Context, ref string) (string, error) {
	return g.run(ctx, "rev-parse", "--verify", ref+"^{commit}")
}

// DefaultBase is the merge base of HEAD with the default branch: the
// remote's HEAD when known, else main, else master.
func (g Git) DefaultBase(ctx context.Context) (string, error) {
	var cands []string
	if ref, err := g.run(ctx, "symbolic-ref", "-q", "refs/remotes/origin/HEAD"); err == nil && ref != "" {
		cands = append(cands, ref)
	}
	cands = append(cands, "origin/main", "origin/master", "main", "master")
	for _, c := range cands {
		if _, err := g.Commit(ctx, c); err != nil {
			continue
		}
		if mb, err := g.run(ctx, "merge-base", "HEAD", c); err == nil {
			return mb, nil
		}
	}
	return "", errors.New("no default branch found to compare with: pass --base REF")
}

// Changed lists the files (relative to the root) that differ between base
// and the working tree, untracked files included.
func (g Git) Changed(ctx context.Context, base string) ([]string, error) {
	out, err := g.run(ctx, "diff", "--name-only", "--no-renames", base, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := g.run(ctx, "ls-files", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, l := range strings.Split(out+"\n"+untracked, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			files = append(files, l)
		}
	}
	return files, nil
}

// Extract writes the tree of commit base into dst (git archive).
func (g Git) Extract(ctx context.Context, base, dst string) error {
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", base)
	cmd.Dir = g.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git archive %s: %v: %s", base, err, strings.TrimSpace(errb.String()))
	}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) || filepath.IsAbs(name) {
			continue
		}
		p := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
		}
	}
}
