package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/review"
)

func (a *app) reviewCmd() *cobra.Command {
	var base, out string
	cmd := &cobra.Command{
		Use:   "review [--base REF] [PATH…]",
		Short: "Review the campaigns a change touches: audience and cost against the base version, previews, compliance checks (Markdown for a pull request)",
		Long: `review compares every campaign whose file or templates changed since REF
(default: the merge base with the default branch) with its version at REF,
both planned against the same contact base and policy: recipients per step
and channel (new, removed, unchanged), refusals per reason, estimated cost,
SMS segments and encoding, previews for sample recipients, compliance
checks, the schedule's next firings and the link hosts added or removed.
It prints a Markdown report ready to post as a pull-request comment (--json
for tools) and exits 1 when validation or a check fails, naming it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			g := review.Git{Dir: "."}
			top, err := g.Toplevel(ctx)
			if err != nil {
				return userErr(err)
			}
			if base == "" {
				if base, err = g.DefaultBase(ctx); err != nil {
					return userErr(err)
				}
			}
			commit, err := g.Commit(ctx, base)
			if err != nil {
				return userErr(err)
			}
			changed, err := g.Changed(ctx, commit)
			if err != nil {
				return err
			}
			baseDir, err := os.MkdirTemp("", "relais-review-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(baseDir)
			if err := g.Extract(ctx, commit, baseDir); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{a.cfg.CampaignsDir}
			}
			l, err := a.loader()
			if err != nil {
				return err
			}
			inputs, err := reviewInputs(l, top, baseDir, args, changed)
			if err != nil {
				return userErr(err)
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			now := time.Now()
			if a.now != nil {
				now = a.now()
			}
			opts := review.Options{Env: review.Env{Store: d.store, Policy: d.policy, Now: now, Channels: d.channels}, Rules: a.cfg.Policy,
				Preview: review.PreviewOptions{OutDir: out, Layout: a.cfg.Print, Now: now, Channels: d.channels}}
			rep := review.Report{Base: base, BaseCommit: commit, Campaigns: []review.Campaign{}}
			for _, in := range inputs {
				c, err := review.Review(ctx, in, opts)
				if err != nil {
					return err
				}
				rep.Campaigns = append(rep.Campaigns, c)
			}
			rep.Finish()
			if a.jsonOut {
				if err := json.NewEncoder(a.stdout).Encode(rep); err != nil {
					return err
				}
			} else if err := review.WriteMarkdown(a.stdout, rep); err != nil {
				return err
			}
			if len(rep.Failed) > 0 {
				return userErrorf("review: %d check(s) failed: %v", len(rep.Failed), rep.Failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base", "", "git ref to compare with (default: merge base with the default branch)")
	cmd.Flags().StringVar(&out, "out", "", "folder for letter previews (PDF and first page PNG)")
	return cmd
}

// reviewInputs finds the campaigns under paths (in the working tree and in
// the base tree at baseDir) that a change to the files changed (relative
// to the repository root top) touches.
func reviewInputs(l campaign.Loader, top, baseDir string, paths, changed []string) ([]review.Input, error) {
	isChanged := map[string]bool{}
	for _, c := range changed {
		isChanged[filepath.Clean(filepath.FromSlash(c))] = true
	}
	rel := func(p string) string { return relTo(top, p) }
	seen := map[string]bool{}
	var inputs []review.Input
	var headPaths, basePaths []string
	for _, p := range paths {
		r := rel(p)
		if fileExists(filepath.Join(baseDir, r)) {
			basePaths = append(basePaths, filepath.Join(baseDir, r))
		}
		if fileExists(p) {
			headPaths = append(headPaths, p)
		} else if !fileExists(filepath.Join(baseDir, r)) {
			return nil, fmt.Errorf("%s: no such file or folder, here or in the base version", p)
		}
	}
	headFiles, err := catalog.Files(headPaths...)
	if err != nil {
		return nil, err
	}
	for _, f := range headFiles {
		r := rel(f)
		seen[r] = true
		in := review.Input{Path: filepath.ToSlash(r)}
		touched := isChanged[r]
		errs := l.Validate(f)
		for _, e := range errs {
			in.Errors = append(in.Errors, e.Error())
		}
		if bp := filepath.Join(baseDir, r); fileExists(bp) {
			if sp, err := l.Load(bp); err == nil {
				in.Base = sp
			}
		}
		if len(errs) == 0 {
			sp, err := l.Load(f)
			if err != nil {
				return nil, err
			}
			in.Head = sp
			touched = touched || filesChanged(top, sp, isChanged)
		} else {
			// An invalid campaign lists no files: judge by its base
			// version's, and report it when it has none.
			touched = touched || in.Base == nil || filesChanged(baseDir, in.Base, isChanged)
		}
		if !touched {
			continue
		}
		inputs = append(inputs, in)
	}
	baseFiles, err := catalog.Files(basePaths...)
	if err != nil {
		return nil, err
	}
	for _, f := range baseFiles {
		r, err := filepath.Rel(baseDir, f)
		if err != nil || seen[r] || !isChanged[r] {
			continue
		}
		in := review.Input{Path: filepath.ToSlash(r)}
		if sp, err := l.Load(f); err == nil {
			in.Base = sp
		}
		inputs = append(inputs, in)
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Path < inputs[j].Path })
	return inputs, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// filesChanged reports whether a file sp references is among the changed
// files (relative to top, the tree sp was loaded from).
func filesChanged(top string, sp *campaign.Spec, isChanged map[string]bool) bool {
	for k := range sp.Files {
		if isChanged[relTo(top, filepath.Join(sp.Root, k))] {
			return true
		}
	}
	return false
}

// relTo returns p relative to the folder top (both made absolute, links
// resolved: git names the repository root by its real path).
func relTo(top, p string) string {
	canon := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		// A path that does not exist (yet): resolve its folder.
		if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			return filepath.Join(d, filepath.Base(abs))
		}
		return abs
	}
	if r, err := filepath.Rel(canon(top), canon(p)); err == nil {
		return r
	}
	return p
}
