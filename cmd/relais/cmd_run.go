package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/queue"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/scheduler"
	"github.com/relais-dev/relais/internal/store"
)

func (a *app) runCmd() *cobra.Command {
	var runKey, reason string
	var dryRun, wait, resend bool
	cmd := &cobra.Command{
		Use:   "run CAMPAIGN",
		Short: "Start a run of a campaign now and print its id",
		Long: `run expands the campaign's audience into the send ledger and queues one job
per recipient. The same campaign and run key never sends twice to one
recipient (default key: the campaign's content hash); running again resumes
an interrupted run. --dry-run renders every message without writing or
sending anything. --wait shows progress until the run is done; in embedded
mode the workers run in this process, so one command sends a whole campaign
(embedded mode always waits: its queue does not outlive the process).

A step of a campaign reaches each person once for the life of the campaign
id: a new version (template fixed, audience rows appended) sends only to
those who did not receive the step yet. --resend --reason TEXT sends again
to everyone, and records why.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if resend && strings.TrimSpace(reason) == "" {
				return userErrorf("--resend needs --reason TEXT: why everyone receives this again")
			}
			if !resend && reason != "" {
				return userErrorf("--reason goes with --resend")
			}
			d, err := a.open(ctx, need{queue: !dryRun, senders: !dryRun})
			if err != nil {
				return err
			}
			defer d.close()
			sp, err := a.loadCampaign(args[0], d)
			if err != nil {
				return err
			}
			if !dryRun {
				if err := a.checkDKIM(a.campaignsAnd(sp)); err != nil {
					return err
				}
				if err := a.checkProviders([]*campaign.Spec{sp}); err != nil {
					return err
				}
			}
			p := a.planner(d)
			if dryRun {
				res, err := p.DryRun(ctx, sp, a.worker(d).Composer)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return json.NewEncoder(a.stdout).Encode(res)
				}
				a.printPlan(sp, res.Result)
				fmt.Fprintf(a.stdout, "rendered %d message(s), %d render error(s); nothing written or sent (dry run)\n", res.Rendered, len(res.RenderErrors))
				for _, e := range res.RenderErrors {
					fmt.Fprintln(a.stdout, "  "+e)
				}
				if len(res.RenderErrors) > 0 {
					return silentError{exitUser}
				}
				return nil
			}
			var srv *asynq.Server
			if a.cfg.Embedded() {
				wait = true
				srv = a.asynqServer(d)
				mux := asynq.NewServeMux()
				w := a.worker(d)
				w.Register(mux)
				if err := srv.Start(mux); err != nil {
					return fmt.Errorf("start workers: %w", err)
				}
				defer srv.Shutdown()
				pctx, stopProbe := context.WithCancel(ctx)
				probed := make(chan struct{})
				go func() { defer close(probed); w.ProbeLoop(pctx, a.cfg.ChannelProbeInterval) }()
				defer func() { stopProbe(); <-probed }()
			}
			if !resend {
				reason = ""
			}
			resume := "relais run " + args[0] + " --wait"
			if runKey != "" {
				resume += " --run-key " + runKey
			}
			if resend {
				resume += " --resend --reason " + strconv.Quote(reason)
			}
			if a.configPath != "" {
				resume += " --config " + a.configPath
			}
			res, err := p.StartResend(ctx, sp, runKey, reason)
			var na *campaignrun.NotApprovedError
			if errors.As(err, &na) {
				return userErrorf("%v: relais approve %s --version %s --by NAME (after relais proof %s)", err, args[0], short(na.Version), args[0])
			}
			if err != nil {
				if ctx.Err() != nil {
					return a.interrupted("the run is not fully planned", resume)
				}
				return err
			}
			if res.Attached {
				return a.attached(ctx, d.store, res, wait, resume)
			}
			if !a.jsonOut && res.Created {
				fmt.Fprintf(a.stdout, "run %d started: campaign %s, key %s, %d to send, %d already received this step (earlier versions), %d refused\n",
					res.Run.ID, sp.ID, short(res.Run.RunKey), res.Planned, res.AlreadyReceived, res.Refused)
			} else if !a.jsonOut {
				// A resumed run counts what is left, not the whole audience.
				c, err := d.store.CountLedger(ctx, res.Run.ID)
				if err != nil {
					return err
				}
				left := pending(c) + c[string(store.Deferred)]
				fmt.Fprintf(a.stdout, "run %d resumed: campaign %s, key %s, %d left to send (%d of %d sends already settled)\n",
					res.Run.ID, sp.ID, short(res.Run.RunKey), left, total(c)-left, total(c))
			}
			if !wait {
				if a.jsonOut {
					return json.NewEncoder(a.stdout).Encode(res)
				}
				return nil
			}
			counts, err := a.waitRun(ctx, d.store, res.Run.ID)
			if err != nil {
				if ctx.Err() != nil {
					return a.interrupted(fmt.Sprintf("run %d is not finished", res.Run.ID), resume)
				}
				return err
			}
			var batches []print.BatchResult
			// A resumed run may have letters spooled before it was interrupted.
			if a.cfg.Embedded() && (res.Spooled(d.channels) || counts[string(store.Spooled)] > 0) {
				if batches, err = a.worker(d).AssemblePrint(ctx, res.Run.ID); err != nil {
					return fmt.Errorf("assemble print batches: %w", err)
				}
				// The batches settled their letters (spooled → accepted or failed).
				if counts, err = d.store.CountLedger(ctx, res.Run.ID); err != nil {
					return err
				}
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(struct {
					Run     int64               `json:"run_id"`
					Counts  map[string]int      `json:"counts"`
					Batches []print.BatchResult `json:"print_batches,omitempty"`
				}{res.Run.ID, counts, batches})
			}
			a.printCounts(res.Run.ID, counts)
			for _, b := range batches {
				if b.Rejected {
					fmt.Fprintf(a.stdout, "print batch %s REJECTED by preflight: %s\n", b.Name, b.Reason)
					continue
				}
				fmt.Fprintf(a.stdout, "print batch %s: %d letter(s), %d page(s): %s\n", b.Name, b.Letters, b.Pages, b.PDF)
			}
			if a.cfg.Embedded() && a.cfg.SMTPURL == "" {
				fmt.Fprintf(a.stdout, "outbox: %s (emails as .eml, SMS/MMS as .json, letters as PDF batches)\n", a.cfg.OutboxDir)
				fmt.Fprintf(a.stdout, "dashboard: run `relais serve` and open %s/ui/ (log in with a key from `relais apikey create NAME --scope reports`)\n", strings.TrimSuffix(a.cfg.PublicURL, "/"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&runKey, "run-key", "", "idempotency key of the run (default: the campaign's content hash)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "render every message without writing or sending")
	cmd.Flags().BoolVar(&wait, "wait", false, "show progress until the run is done")
	cmd.Flags().BoolVar(&resend, "resend", false, "send again to people an earlier version of the campaign reached (needs --reason)")
	cmd.Flags().StringVar(&reason, "reason", "", "why a --resend sends again; recorded on the run and shown by status")
	return cmd
}

// attached reports a run another process is expanding (exit 0) and, with
// --wait, follows it until it is done like the process that expands it.
func (a *app) attached(ctx context.Context, st store.Store, res campaignrun.Result, wait bool, resume string) error {
	id := res.Run.ID
	if !wait {
		if a.jsonOut {
			return json.NewEncoder(a.stdout).Encode(res)
		}
		fmt.Fprintf(a.stdout, "run %d is already running: another relais process is expanding it (follow it with `relais status %d`)\n", id, id)
		return nil
	}
	if !a.jsonOut {
		fmt.Fprintf(a.stdout, "run %d is already running: another relais process is expanding it; following it\n", id)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if r.State != store.RunExpanding {
			break
		}
		select {
		case <-ctx.Done():
			return a.interrupted(fmt.Sprintf("run %d is not finished", id), resume)
		case <-tick.C:
		}
	}
	counts, err := a.waitRun(ctx, st, id)
	if err != nil {
		if ctx.Err() != nil {
			return a.interrupted(fmt.Sprintf("run %d is not finished", id), resume)
		}
		return err
	}
	if a.jsonOut {
		return json.NewEncoder(a.stdout).Encode(struct {
			Run      int64          `json:"run_id"`
			Attached bool           `json:"attached"`
			Counts   map[string]int `json:"counts"`
		}{id, true, counts})
	}
	a.printCounts(id, counts)
	return nil
}

// pending counts rows a worker still has to act on now.
func pending(c map[string]int) int {
	return store.Due(c)
}

func total(c map[string]int) int {
	n := 0
	for _, s := range store.States {
		n += c[string(s)]
	}
	return n
}

// waitRun polls the ledger until no row of the run is left to act on now
// (deferred rows wait for their time and are reported).
func (a *app) waitRun(ctx context.Context, st store.Store, runID int64) (map[string]int, error) {
	var bar *progressbar.ProgressBar
	if f, ok := a.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !a.jsonOut {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription("sending"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	told := map[string]bool{} // paused channels already reported
	for n := 0; ; n++ {
		c, err := st.CountLedger(ctx, runID)
		if err != nil {
			return nil, err
		}
		if n%10 == 0 && pending(c) > 0 {
			a.tellPausedChannels(ctx, st, told)
		}
		if bar != nil {
			bar.ChangeMax(total(c))
			_ = bar.Set(total(c) - pending(c))
		}
		if pending(c) == 0 {
			if bar != nil {
				_ = bar.Finish()
			}
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-tick.C:
		}
	}
}

// tellPausedChannels says once on stderr, for each channel newly found
// paused by an account-level provider error, that its sends wait and how
// to resume them: a run on it waits instead of finishing.
func (a *app) tellPausedChannels(ctx context.Context, st store.Store, told map[string]bool) {
	ps, err := st.ChannelPauses(ctx)
	if err != nil {
		return // the next count reports a store that is down
	}
	for _, p := range ps {
		if told[p.Channel] {
			continue
		}
		told[p.Channel] = true
		fmt.Fprintf(a.stderr, "relais: channel %s is paused (its provider refused the account: %s); its messages wait. "+
			"Fix %s, then run `relais resume-channel %s`\n", p.Channel, p.Error, p.Setting, p.Channel)
	}
}

func (a *app) printCounts(runID int64, c map[string]int) {
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "run %d\n", runID)
	for _, k := range sortedKeys(c) {
		fmt.Fprintf(w, "  %s\t%d\n", k, c[k])
	}
	w.Flush()
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status [RUN]",
		Short: "Show runs and their progress; with RUN, its counts and the sends held as ambiguous",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			if len(args) == 0 {
				if !a.jsonOut {
					paused, err := d.store.ChannelPauses(ctx)
					if err != nil {
						return err
					}
					writePausedChannels(a.stdout, paused)
				}
				return a.listRuns(ctx, d.store)
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return userErrorf("RUN must be a run id, got %q", args[0])
			}
			r, err := d.store.GetRun(ctx, id)
			if err != nil {
				return userErr(fmt.Errorf("run %d: %w", id, err))
			}
			c, err := d.store.CountLedger(ctx, id)
			if err != nil {
				return err
			}
			// Listing by state reads the run's rows: only when some are held.
			var held []store.LedgerRow
			if c[string(store.Ambiguous)] > 0 {
				if held, err = d.store.ListLedger(ctx, store.LedgerFilter{RunID: id, States: []store.State{store.Ambiguous}, Limit: 10000}); err != nil {
					return err
				}
			}
			approvals, err := d.store.Approvals(ctx, r.CampaignID, r.ContentHash)
			if err != nil {
				return err
			}
			failedBy, err := failedReasons(ctx, d.store, r)
			if err != nil {
				return err
			}
			if a.jsonOut {
				type hr struct {
					Ledger  string `json:"ledger_id"`
					Step    string `json:"step"`
					Channel string `json:"channel"`
					Contact int64  `json:"contact_id"`
					Reason  string `json:"reason"`
				}
				out := struct {
					Run       store.Run        `json:"run"`
					Counts    map[string]int   `json:"counts"`
					Pending   int              `json:"pending"`
					Ambiguous []hr             `json:"ambiguous"`
					Approvals []store.Approval `json:"approvals"`
					FailedBy  map[string]int   `json:"failed_by"`
				}{r, c, pending(c), []hr{}, approvals, failedBy}
				out.Run.State = store.RunStatus(r, c)
				for _, h := range held {
					out.Ambiguous = append(out.Ambiguous, hr{h.ID, h.StepID, h.Channel, h.ContactID, h.Reason})
				}
				return json.NewEncoder(a.stdout).Encode(out)
			}
			fmt.Fprintf(a.stdout, "run %d: campaign %s, key %s, version %s, %s, created %s\n", r.ID, r.CampaignID, short(r.RunKey), short(r.ContentHash), runState(r, c), r.CreatedAt.Format(time.RFC3339))
			if !r.PausedAt.IsZero() && r.CanceledAt.IsZero() {
				fmt.Fprintf(a.stdout, "paused since %s (relais resume %d)\n", r.PausedAt.Format(time.RFC3339), r.ID)
			}
			if r.ResendReason != "" {
				fmt.Fprintf(a.stdout, "resend: %s\n", r.ResendReason)
			}
			for _, ap := range approvals {
				fmt.Fprintf(a.stdout, "approved by %s at %s%s\n", ap.By, ap.At.Format(time.RFC3339), noteOf(ap.Note))
			}
			if !r.CanceledAt.IsZero() {
				fmt.Fprintf(a.stdout, "canceled at %s: %s\n", r.CanceledAt.Format(time.RFC3339), r.CancelReason)
			}
			a.printCounts(r.ID, c)
			if len(failedBy) > 0 {
				fmt.Fprintf(a.stdout, "failed, by reason:\n")
				for _, k := range sortedKeys(failedBy) {
					fmt.Fprintf(a.stdout, "  %d  %s\n", failedBy[k], k)
				}
			}
			if len(held) > 0 {
				fmt.Fprintf(a.stdout, "held as ambiguous (may or may not have been sent; review before resending):\n")
				for _, h := range held {
					fmt.Fprintf(a.stdout, "  %s  step=%s channel=%s contact=%d\n", h.ID, h.StepID, h.Channel, h.ContactID)
				}
			}
			return nil
		},
	}
}

// noteOf is an approval's note as status prints it.
func noteOf(note string) string {
	if note == "" {
		return ""
	}
	return ": " + note
}

// failedReasons counts the run's failed rows by reason (a print batch
// the preflight rejected fails its letters with the finding).
func failedReasons(ctx context.Context, st store.Store, r store.Run) (map[string]int, error) {
	groups, err := st.LedgerGroups(ctx, r.CampaignID)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, g := range groups {
		if g.RunID == r.ID && g.State == store.Failed {
			reason := g.Reason
			if reason == "" {
				reason = "unspecified"
			}
			out[reason] += g.Rows
		}
	}
	return out, nil
}

func runState(r store.Run, c map[string]int) string {
	if st := store.RunStatus(r, c); st != "waiting" {
		return st
	}
	return "waiting (deferred sends)"
}

func (a *app) listRuns(ctx context.Context, st store.Store) error {
	runs, err := st.ListRuns(ctx, "", 50)
	if err != nil {
		return err
	}
	type row struct {
		store.Run
		Counts map[string]int `json:"counts"`
		Status string         `json:"status"`
	}
	var rows []row
	for _, r := range runs {
		c, err := st.CountLedger(ctx, r.ID)
		if err != nil {
			return err
		}
		r.State = store.RunStatus(r, c)
		rows = append(rows, row{r, c, runState(r, c)})
	}
	if a.jsonOut {
		if rows == nil {
			rows = []row{}
		}
		return json.NewEncoder(a.stdout).Encode(rows)
	}
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tCAMPAIGN\tSTATUS\tSENT\tREFUSED\tFAILED\tAMBIGUOUS\tPENDING\tCREATED")
	for _, r := range rows {
		c := r.Counts
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.CampaignID, r.Status,
			c[string(store.Accepted)]+c[string(store.Delivered)]+c[string(store.Bounced)], c[string(store.Refused)],
			c[string(store.Failed)], c[string(store.Ambiguous)], pending(c), r.CreatedAt.Format(time.RFC3339))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return a.printLive()
}

// printLive lists the campaign versions `relais serve` makes live from the
// campaigns folder: content hash, and git commit when it is a checkout.
func (a *app) printLive() error {
	files, err := catalog.Files(a.cfg.CampaignsDir)
	if err != nil || len(files) == 0 {
		return nil // no campaigns folder here: nothing to show
	}
	commit := scheduler.GitCommit(a.cfg.CampaignsDir)
	fmt.Fprintf(a.stdout, "\ncampaigns in %s", a.cfg.CampaignsDir)
	if commit != "" {
		fmt.Fprintf(a.stdout, " (git %s)", short(commit))
	}
	fmt.Fprintln(a.stdout, ":")
	l, err := a.loader()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	for _, f := range files {
		sp, err := l.Load(f)
		if err != nil {
			first := err.Error()
			if i := strings.IndexByte(first, '\n'); i > 0 {
				first = first[:i]
			}
			fmt.Fprintf(w, "  %s\tINVALID\t%s\n", f, first)
			continue
		}
		fmt.Fprintf(w, "  %s\tversion %s\t%s\n", sp.ID, short(sp.ContentHash), f)
	}
	return w.Flush()
}

func (a *app) recoverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Re-derive queued jobs from the send ledger for every unfinished row (after Redis lost its data, or tasks ran out of retries)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if a.cfg.Embedded() {
				return userErrorf("recover needs RELAIS_REDIS_URL: the embedded queue lives in the process that runs it")
			}
			d, err := a.open(ctx, need{queue: true})
			if err != nil {
				return err
			}
			defer d.close()
			insp := asynq.NewInspector(d.redisOpt)
			defer insp.Close()
			p := a.planner(d)
			p.Tasks = queue.InspectorReviver{Inspector: insp}
			rep, err := p.RecoverAll(ctx)
			if err != nil {
				return fmt.Errorf("recover: %w", err)
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(rep)
			}
			fmt.Fprintf(a.stdout, "%d unfinished row(s) in %d run(s), %d found mid-submission, %d with an outcome waiting to be recorded; re-enqueued %d job(s) from the ledger\n",
				rep.Rows, rep.Runs, rep.Submitting, rep.Recording, rep.Enqueued)
			return nil
		},
	}
}
