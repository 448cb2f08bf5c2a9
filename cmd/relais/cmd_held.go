package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

func (a *app) heldCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "held [RUN]",
		Short: "List the sends held as ambiguous (of RUN, or of every run); release or settle them",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			var runID int64
			if len(args) == 1 {
				if runID, err = parseRun(args[0]); err != nil {
					return err
				}
			}
			rows, err := held.List(ctx, d.store, runID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"held": rows})
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "LEDGER\tRUN\tCONTACT\tCHANNEL\tPROVIDER ID\tSINCE\tLAST ERROR")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Ledger, r.Run, r.Contact, r.Channel, r.ProviderID,
					r.Since.UTC().Format(time.RFC3339), r.LastError)
			}
			return w.Flush()
		},
	}
	cmd.AddCommand(a.heldReleaseCmd(), a.heldSettleCmd())
	return cmd
}

func parseRun(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, userErrorf("RUN must be a run id, got %q", s)
	}
	return id, nil
}

// heldSelection turns --all and the LEDGER arguments into a selection.
func heldSelection(all bool, ids []string) (held.Selection, error) {
	if all == (len(ids) > 0) {
		return held.Selection{}, userErrorf("name the sends (LEDGER…) or give --all, not both")
	}
	return held.Selection{All: all, IDs: ids}, nil
}

// heldErr makes an operator's mistake (a ledger id that is not held, an
// unknown run) a user error.
func heldErr(runID int64, err error) error {
	switch {
	case held.IsInput(err):
		return userErr(err)
	case errors.Is(err, store.ErrNotFound):
		return userErrorf("run %d: %v", runID, err)
	}
	return err
}

// operator names who acts, for the record.
func (a *app) operator() string {
	if u := a.getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func (a *app) heldReleaseCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "release RUN (--all | LEDGER…)",
		Short: "Send held sends again, with the same Message-ID (the receiving side can drop a duplicate)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if a.cfg.Embedded() {
				return userErrorf("held release needs RELAIS_REDIS_URL: the embedded queue lives in the process that runs it")
			}
			runID, err := parseRun(args[0])
			if err != nil {
				return err
			}
			sel, err := heldSelection(all, args[1:])
			if err != nil {
				return err
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
			res, err := held.Release(ctx, d.store, p, runID, sel, a.operator(), a.clock())
			if err != nil {
				return heldErr(runID, err)
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(res)
			}
			fmt.Fprintf(a.stdout, "released %d held send(s) of run %d; %d job(s) enqueued\n", res.Released, runID, res.Enqueued)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every held send of the run")
	return cmd
}

func (a *app) heldSettleCmd() *cobra.Command {
	var all, delivered, failed bool
	var note string
	cmd := &cobra.Command{
		Use:   "settle RUN (--delivered | --failed) (--all | LEDGER…) --note TEXT",
		Short: "Close held sends without sending, as delivered or failed, with who, when and why",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if delivered == failed {
				return userErrorf("give exactly one of --delivered and --failed")
			}
			if note == "" {
				return userErrorf("--note is required: say why (a bounce seen, the recipient confirmed…)")
			}
			runID, err := parseRun(args[0])
			if err != nil {
				return err
			}
			sel, err := heldSelection(all, args[1:])
			if err != nil {
				return err
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			to := store.Delivered
			if failed {
				to = store.Failed
			}
			res, err := held.Settle(ctx, d.store, runID, sel, to, note, a.operator(), a.clock())
			if err != nil {
				return heldErr(runID, err)
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(res)
			}
			fmt.Fprintf(a.stdout, "settled %d held send(s) of run %d as %s\n", res.Settled, runID, to)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every held send of the run")
	cmd.Flags().BoolVar(&delivered, "delivered", false, "the messages did arrive")
	cmd.Flags().BoolVar(&failed, "failed", false, "the messages did not arrive")
	cmd.Flags().StringVar(&note, "note", "", "why (recorded with the operator's name and the time)")
	return cmd
}
