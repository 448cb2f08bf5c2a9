package main

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/simulate"
)

func (a *app) simulateCmd() *cobra.Command {
	var from, events string
	var days int
	cmd := &cobra.Command{
		Use:   "simulate CAMPAIGN --from T --days N [--events scenario.yaml]",
		Short: "Play a campaign on a virtual clock: schedule, steps, follow-ups, fallbacks, quiet hours and caps (writes and sends nothing)",
		Long: `simulate plays the campaign from T for N days on a virtual clock: each
schedule firing starts a run, steps are sent, follow-ups fall due after
their delay and are decided on the recipient's events (the scenario's
opens, clicks, replies, coupons, conversions, opt-outs and bounces) with
the code of a real run, and every message is checked by the real policy
engine (consent, suppression, frequency cap, quiet hours and public
holidays) against a read-only copy of the contact base. It prints a
timeline per recipient and totals per step and day.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			loc, err := time.LoadLocation(a.cfg.Policy.Timezone)
			if err != nil {
				return userErr(err)
			}
			start := time.Now()
			if a.now != nil {
				start = a.now()
			}
			if from != "" {
				if start, err = parseTimeIn(from, loc); err != nil {
					return userErrorf("--from: %v", err)
				}
			}
			var sc *simulate.Scenario
			if events != "" {
				if sc, err = simulate.LoadScenario(events); err != nil {
					return userErr(err)
				}
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			sp, err := a.loadCampaign(args[0], d)
			if err != nil {
				return err
			}
			res, err := simulate.Run(ctx, sp, simulate.Options{From: start, Days: days, Rules: a.cfg.Policy, Secret: d.secret,
				Store: d.store, Lookup: d.store, Scenario: sc, Channels: d.channels})
			if err != nil {
				return userErr(err)
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(res)
			}
			return simulate.WriteText(a.stdout, res, loc)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the simulation: RFC 3339 time or YYYY-MM-DD (midnight in the policy time zone); default now")
	cmd.Flags().IntVar(&days, "days", 7, "number of days simulated")
	cmd.Flags().StringVar(&events, "events", "", "scenario file of recipient events (YAML)")
	return cmd
}

// parseTimeIn parses an RFC 3339 time, or a date or "YYYY-MM-DD HH:MM"
// in loc.
func parseTimeIn(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, userErrorf("%q is not an RFC 3339 time or YYYY-MM-DD", s)
}
