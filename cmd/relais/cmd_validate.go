package main

import (
	"context"
	"time"

	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH…]",
		Short: "Check campaign files: schema, references, templates, expressions, schedules (no network, no send)",
		Long: `validate checks every campaign file under the paths (default: the campaigns
folder): unknown keys, missing templates or attachments, template syntax and
fields the audience lacks, expressions, cron schedules and time zones, steps
without content, marketing SMS without an opt-out mention, durations without
unit. Each problem is printed as path:line:col: message. Exit 1 when any.
Warnings (an SMS rendering to more than limits.sms_segments segments for
one of the first 20 recipients of an audience file) are printed as
path:line:col: warning: message and do not change the exit code.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{a.cfg.CampaignsDir}
			}
			files, err := catalog.Files(args...)
			if err != nil {
				return userErr(err)
			}
			l, err := a.loader()
			if err != nil {
				return err
			}
			all, warns := l.ValidateFiles(files)
			hosts := []stepHosts{}
			if len(all) == 0 {
				for _, f := range files {
					if sp, err := l.Load(f); err == nil {
						hosts = append(hosts, linkHostsOf(f, sp)...)
					}
				}
			}
			if a.jsonOut {
				type jerr struct {
					File    string `json:"file"`
					Line    int    `json:"line"`
					Col     int    `json:"col"`
					Message string `json:"message"`
				}
				out := struct {
					Valid    bool   `json:"valid"`
					Files    int    `json:"files"`
					Errors   []jerr `json:"errors"`
					Warnings []jerr `json:"warnings"`
					// LinkHosts are, per step, the hosts click tracking
					// signs links to (those written in its templates).
					LinkHosts []stepHosts `json:"link_hosts"`
				}{Valid: len(all) == 0, Files: len(files), Errors: []jerr{}, Warnings: []jerr{}, LinkHosts: hosts}
				for _, e := range all {
					out.Errors = append(out.Errors, jerr{e.File, e.Line, e.Col, e.Msg})
				}
				for _, w := range warns {
					out.Warnings = append(out.Warnings, jerr{w.File, w.Line, w.Col, w.Msg})
				}
				if err := json.NewEncoder(a.stdout).Encode(out); err != nil {
					return err
				}
			} else {
				for _, e := range all {
					fmt.Fprintln(a.stdout, e.Error())
				}
				for _, w := range warns {
					fmt.Fprintln(a.stdout, w.String())
				}
				for _, h := range hosts {
					list := strings.Join(h.Hosts, ", ")
					if list == "" {
						list = "none"
					}
					fmt.Fprintf(a.stdout, "%s: step %s: link hosts: %s\n", h.File, h.Step, list)
				}
				if len(all) == 0 {
					fmt.Fprintf(a.stdout, "%d campaign file(s) valid\n", len(files))
				}
			}
			if len(all) > 0 {
				if !a.jsonOut {
					fmt.Fprintf(a.stderr, "%d problem(s) in %d file(s)\n", len(all), len(files))
				}
				return silentError{exitUser}
			}
			return nil
		},
	}
}

func (a *app) planCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plan CAMPAIGN",
		Short: "Expand the audience without sending: recipients per step and channel, refusals per reason, cost",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			sp, err := a.loadCampaign(args[0], d)
			if err != nil {
				return err
			}
			res, err := a.planner(d).Plan(ctx, sp)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(struct {
					Campaign string `json:"campaign"`
					Hash     string `json:"content_hash"`
					campaignrun.Result
				}{sp.ID, sp.ContentHash, res})
			}
			a.printPlan(sp, res)
			return a.printApproval(ctx, d.store, sp, args[0])
		},
	}
}

// printApproval says, for a campaign with approval: required, who
// approved this version, or the commands that would.
func (a *app) printApproval(ctx context.Context, st store.Store, sp *campaign.Spec, arg string) error {
	if sp.Approval != campaign.ApprovalRequired {
		return nil
	}
	as, err := st.Approvals(ctx, sp.ID, sp.ContentHash)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		fmt.Fprintf(a.stdout, "approval required: version %s is NOT approved (relais proof %s --to ADDR, then relais approve %s --version %s --by NAME)\n",
			short(sp.ContentHash), arg, arg, short(sp.ContentHash))
		return nil
	}
	for _, ap := range as {
		fmt.Fprintf(a.stdout, "approval required: version %s approved by %s at %s%s\n", short(sp.ContentHash), ap.By, ap.At.Format(time.RFC3339), noteOf(ap.Note))
	}
	return nil
}

func (a *app) printPlan(sp *campaign.Spec, res campaignrun.Result) {
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "campaign\t%s (%s)\n", sp.ID, short(sp.ContentHash))
	fmt.Fprintf(w, "targeted\t%d\n", res.Targeted)
	fmt.Fprintf(w, "to send\t%d\n", res.Planned)
	for _, k := range sortedKeys(res.ByChannel) {
		fmt.Fprintf(w, "  %s\t%d\n", k, res.ByChannel[k])
	}
	fmt.Fprintf(w, "already received this step (earlier versions)\t%d\n", res.AlreadyReceived)
	fmt.Fprintf(w, "refused\t%d\n", res.Refused)
	for _, k := range sortedKeys(res.ByReason) {
		fmt.Fprintf(w, "  %s\t%d\n", k, res.ByReason[k])
	}
	if res.RowErrors > 0 {
		fmt.Fprintf(w, "invalid audience rows\t%d (skipped)\n", res.RowErrors)
	}
	global, _ := a.cfg.Rates() // checked when the configuration was loaded
	for _, ch := range sortedKeys(res.ByChannel) {
		if r, from, ok := slowest(sp.Limits.Rates[ch], global[ch]); ok && res.ByChannel[ch] > 1 {
			d := time.Duration(res.ByChannel[ch]-1) * r.Per / time.Duration(r.N)
			fmt.Fprintf(w, "send duration\tat least %s for %s at %d/%s (%s)\n", d.Round(time.Second), ch, r.N, unit(r.Per), from)
		}
	}
	if res.Currency != "" {
		fmt.Fprintf(w, "estimated cost\t%.2f %s\n", res.Cost, res.Currency)
	}
	w.Flush()
}

// slowest is the rate that bounds a channel's sends, the campaign's
// limit or the configuration's, and which it is; ok is false when
// neither is set.
func slowest(camp, conf campaign.Rate) (campaign.Rate, string, bool) {
	switch {
	case camp.N <= 0 && conf.N <= 0:
		return campaign.Rate{}, "", false
	case conf.N <= 0 || (camp.N > 0 && camp.Per*time.Duration(conf.N) >= conf.Per*time.Duration(camp.N)):
		return camp, "campaign limit", true
	}
	return conf, "configured limit", true
}

// unit names a rate's period as campaign files write it.
func unit(d time.Duration) string {
	switch d {
	case time.Second:
		return "s"
	case time.Minute:
		return "m"
	case time.Hour:
		return "h"
	case 24 * time.Hour:
		return "d"
	}
	return d.String()
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// stepHosts are the link hosts of one step of a campaign file.
type stepHosts struct {
	File     string   `json:"file"`
	Campaign string   `json:"campaign"`
	Step     string   `json:"step"`
	Hosts    []string `json:"hosts"`
}

// linkHostsOf lists, per step of sp, the hosts written in the templates
// the step uses (its content blocks name them by path; its subjects are
// keyed by step) and the campaign's link_hosts, which are the only hosts
// click tracking signs besides the link_hosts setting.
func linkHostsOf(file string, sp *campaign.Spec) []stepHosts {
	var out []stepHosts
	keys := make([]string, 0, len(sp.Templates))
	for k := range sp.Templates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, st := range sp.Steps {
		b, _ := json.Marshal(st.Content) // the blocks' exported fields hold the template paths
		content := string(b)
		set := map[string]bool{}
		for _, h := range sp.LinkHosts {
			set[h] = true
		}
		for _, k := range keys {
			if strings.Contains(content, k) || strings.HasPrefix(k, "steps."+st.ID+".") {
				for _, h := range sp.Templates[k].LinkHosts() {
					set[h] = true
				}
			}
		}
		hs := make([]string, 0, len(set))
		for h := range set {
			hs = append(hs, h)
		}
		sort.Strings(hs)
		out = append(out, stepHosts{File: file, Campaign: sp.ID, Step: st.ID, Hosts: hs})
	}
	return out
}
