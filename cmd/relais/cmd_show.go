package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/audit"
	"github.com/relais-dev/relais/internal/store"
)

func (a *app) showCmd() *cobra.Command {
	var withContent bool
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "The campaign version a run sent: content hash, git commit and its exact files",
		Long: `show prints the campaign version a run was planned with: its content hash,
the git commit that introduced that version, and its files, read from the
campaigns folder when they still have the run's hash, else from that
commit. It says so plainly when the files on disk no longer match the run.
--content prints each file's content after its path.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return userErrorf("RUN must be a run id: %q", args[0])
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			r, err := d.store.GetRun(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return userErrorf("no run %d", id)
			}
			if err != nil {
				return err
			}
			loc := &audit.Locator{Dir: a.cfg.CampaignsDir, Versions: d.store}
			v, err := loc.Find(ctx, r.CampaignID, r.ContentHash)
			if err != nil {
				return err
			}
			if a.jsonOut {
				type jfile struct {
					audit.File
					Content string `json:"content,omitempty"`
				}
				out := struct {
					Run store.Run `json:"run"`
					audit.Version
					Matches bool    `json:"files_match"`
					Files   []jfile `json:"files"`
				}{Run: r, Version: v, Matches: v.Matches(), Files: []jfile{}}
				for _, f := range v.Files {
					jf := jfile{File: f}
					if withContent {
						jf.Content = string(f.Content)
					}
					out.Files = append(out.Files, jf)
				}
				return json.NewEncoder(a.stdout).Encode(out)
			}
			w := a.stdout
			fmt.Fprintf(w, "run %d of %s (%s), created %s\n", r.ID, r.CampaignID, r.State, r.CreatedAt.Format(time.RFC3339))
			fmt.Fprintf(w, "version %s\n", r.ContentHash)
			if v.Commit != "" {
				fmt.Fprintf(w, "git commit %s\n", v.Commit)
			} else {
				fmt.Fprintln(w, "git commit unknown (the version is not in the campaigns folder's git history)")
			}
			switch {
			case v.File == "":
				fmt.Fprintf(w, "the campaigns folder %s has no campaign %s: its files cannot be shown\n", a.cfg.CampaignsDir, r.CampaignID)
			case v.Matches():
				fmt.Fprintf(w, "files: %s and the files it references match the run's version\n", v.File)
			default:
				fmt.Fprintf(w, "WARNING: the files on disk (%s, version %s) no longer match the run's version %s\n", v.File, short(v.LiveHash), short(r.ContentHash))
				if v.Source == audit.SourceGit {
					fmt.Fprintf(w, "files of the run's version, from git commit %s:\n", short(v.Commit))
				} else {
					fmt.Fprintln(w, "the run's files are not in the git history either")
				}
			}
			for _, f := range v.Files {
				fmt.Fprintf(w, "  %s  sha256 %s\n", f.Path, f.SHA256)
				if withContent {
					fmt.Fprintf(w, "==> %s <==\n%s\n", f.Path, f.Content)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&withContent, "content", false, "print each file's content")
	return cmd
}
