package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/store"
)

// controlResult is what pause, resume and cancel did to one run.
type controlResult struct {
	Run      int64  `json:"run"`
	Campaign string `json:"campaign"`
	Changed  bool   `json:"changed"`
	Canceled int    `json:"canceled_rows,omitempty"`
}

// controlOutput is the --json answer of pause, resume and cancel.
type controlOutput struct {
	Action   string          `json:"action"`
	Campaign string          `json:"campaign,omitempty"` // set when a campaign's schedule was paused or resumed
	Runs     []controlResult `json:"runs"`
}

func (a *app) pauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause RUN|CAMPAIGN",
		Short: "Stop sending a run (every worker within 2 s), or a campaign: its active runs and its scheduled ticks",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.control(cmd.Context(), "pause", args[0], false, "")
		},
	}
}

func (a *app) resumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "resume RUN|CAMPAIGN",
		Short: "Send again what pause held",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.control(cmd.Context(), "resume", args[0], false, "")
		},
	}
}

func (a *app) cancelCmd() *cobra.Command {
	var reason string
	var all bool
	cmd := &cobra.Command{
		Use:   "cancel RUN|CAMPAIGN | --all",
		Short: "End a run for good: every unsent message becomes canceled, with the reason",
		Args:  cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return userErrorf("give a RUN or CAMPAIGN, or --all")
			}
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			return a.control(cmd.Context(), "cancel", target, all, reason)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "canceled by an operator", "why, recorded on the run and on each canceled message")
	cmd.Flags().BoolVar(&all, "all", false, "cancel every active run of every campaign")
	return cmd
}

// control applies action to a run (a numeric target), to the active runs
// of a campaign (and, for pause and resume, to its schedule) or, with all,
// to every active run.
func (a *app) control(ctx context.Context, action, target string, all bool, reason string) error {
	d, err := a.open(ctx, need{})
	if err != nil {
		return err
	}
	defer d.close()
	out := controlOutput{Action: action, Runs: []controlResult{}}
	var runs []store.Run
	if id, perr := strconv.ParseInt(target, 10, 64); perr == nil && !all {
		r, err := d.store.GetRun(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return userErrorf("run %d does not exist (see relais status)", id)
		} else if err != nil {
			return err
		}
		runs = []store.Run{r}
	} else {
		if !all {
			out.Campaign = target
			if action != "cancel" {
				if err := a.controlCampaign(ctx, d.store, action, target); err != nil {
					return err
				}
			}
		}
		if runs, err = activeRuns(ctx, d.store, target); err != nil {
			return err
		}
		if len(runs) == 0 && out.Campaign == "" {
			return userErrorf("no active run to %s", action)
		}
	}
	now := time.Now()
	for _, r := range runs {
		res := controlResult{Run: r.ID, Campaign: r.CampaignID}
		switch action {
		case "pause":
			res.Changed, err = d.store.PauseRun(ctx, r.ID, now)
		case "resume":
			res.Changed, err = d.store.ResumeRun(ctx, r.ID)
		case "cancel":
			res.Canceled, err = d.store.CancelRun(ctx, r.ID, reason, now)
			res.Changed = r.CanceledAt.IsZero()
		}
		if err != nil {
			return err
		}
		out.Runs = append(out.Runs, res)
	}
	if a.jsonOut {
		return json.NewEncoder(a.stdout).Encode(out)
	}
	past := map[string]string{"pause": "paused", "resume": "resumed", "cancel": "canceled"}[action]
	if out.Campaign != "" && action != "cancel" {
		fmt.Fprintf(a.stdout, "campaign %s %s: scheduled ticks %s\n", out.Campaign, past,
			map[string]string{"pause": "will not fire until resumed", "resume": "fire again"}[action])
	}
	for _, r := range out.Runs {
		switch {
		case action == "cancel":
			fmt.Fprintf(a.stdout, "run %d (%s) canceled: %d unsent messages canceled\n", r.Run, r.Campaign, r.Canceled)
		case r.Changed:
			fmt.Fprintf(a.stdout, "run %d (%s) %s\n", r.Run, r.Campaign, past)
		default:
			fmt.Fprintf(a.stdout, "run %d (%s) was not %s; nothing changed\n", r.Run, r.Campaign,
				map[string]string{"pause": "running (already paused or canceled)", "resume": "paused"}[action])
		}
	}
	return nil
}

// controlCampaign pauses or resumes a campaign's schedule.
func (a *app) controlCampaign(ctx context.Context, st store.Store, action, id string) error {
	if action == "pause" {
		_, err := st.PauseCampaign(ctx, id, time.Now())
		return err
	}
	_, err := st.ResumeCampaign(ctx, id)
	return err
}

// activeRuns returns the runs of a campaign ("" for all) that are not
// finished nor canceled.
func activeRuns(ctx context.Context, st store.Store, campaignID string) ([]store.Run, error) {
	runs, err := st.ListRuns(ctx, campaignID, 1000)
	if err != nil {
		return nil, err
	}
	var active []store.Run
	for _, r := range runs {
		if r.DryRun || !r.CanceledAt.IsZero() {
			continue
		}
		c, err := st.CountLedger(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if st := store.RunStatus(r, c); st != store.RunDone {
			active = append(active, r)
		}
	}
	return active, nil
}
