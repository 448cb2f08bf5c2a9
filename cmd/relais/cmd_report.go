package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/audit"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/report"
)

func (a *app) reportCmd() *cobra.Command {
	var csvOut bool
	cmd := &cobra.Command{
		Use:   "report CAMPAIGN",
		Short: "Results of a campaign per run, step and channel: funnel, refusals, rates, cost, cost per response, ROI",
		Long: `report aggregates the send ledger and the tracked events of a campaign:
targeted, refused by reason, sent, delivered, bounced, unique opens (human and
machine), unique clicks, responses, unsubscribes, conversions and their value,
rates, cost (from the campaign's cost: block, SMS per segment), cost per
response and ROI = (conversion value − cost) / cost. See docs/reports.md.

CAMPAIGN is a campaign file, or a campaign id looked up in the campaigns
folder for its costs (without a file the report has no costs).
Output: a table, --json, or --csv (safe against spreadsheet formulas).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if csvOut && a.jsonOut {
				return userErrorf("--csv and --json are exclusive")
			}
			ctx := cmd.Context()
			id, costs, err := a.reportTarget(args[0])
			if err != nil {
				return err
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			r, err := report.BuildWith(ctx, d.store, id, costs, d.channels)
			if err != nil {
				return err
			}
			loc := &audit.Locator{Dir: a.cfg.CampaignsDir, Versions: d.store}
			r.Versions(func(runID int64) (string, string) {
				run, err := d.store.GetRun(ctx, runID)
				if err != nil {
					return "", ""
				}
				return run.ContentHash, loc.Commit(ctx, run.CampaignID, run.ContentHash)
			})
			if r.Approvals, err = d.store.Approvals(ctx, id, ""); err != nil {
				return err
			}
			switch {
			case a.jsonOut:
				return report.WriteJSON(a.stdout, r)
			case csvOut:
				return report.WriteCSV(a.stdout, r)
			}
			if len(costs.PerUnit) == 0 {
				fmt.Fprintf(a.stderr, "note: campaign %s has no cost: block (or its file was not found): costs and ROI are 0\n", id)
			}
			if err := report.WriteTable(a.stdout, r); err != nil {
				return err
			}
			for _, ap := range r.Approvals {
				fmt.Fprintf(a.stdout, "version %s approved by %s at %s%s\n", short(ap.Version), ap.By, ap.At.Format(time.RFC3339), noteOf(ap.Note))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&csvOut, "csv", false, "CSV output (one line per run, step and channel, then totals)")
	return cmd
}

// reportTarget resolves CAMPAIGN: an existing file is loaded (a user
// error when invalid); otherwise it is an id whose live version in the
// campaigns folder gives the costs, if there is one.
func (a *app) reportTarget(arg string) (string, campaign.Cost, error) {
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		sp, err := a.loadCampaign(arg, nil)
		if err != nil {
			return "", campaign.Cost{}, err
		}
		return sp.ID, sp.Cost, nil
	}
	if _, err := os.Stat(a.cfg.CampaignsDir); err == nil {
		r, err := a.channels()
		if err != nil {
			return "", campaign.Cost{}, err
		}
		c := a.newCatalog(r)
		c.Reload() // a broken file elsewhere in the folder must not hide this report
		if sp := c.Live(arg); sp != nil {
			return sp.ID, sp.Cost, nil
		}
	}
	return arg, campaign.Cost{}, nil
}
