package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// heldRow is a send held as ambiguous, as `relais held` shows it.
type heldRow struct {
	Ledger     string    `json:"ledger_id"`
	Run        int64     `json:"run_id"`
	Step       string    `json:"step"`
	Contact    string    `json:"contact_ref"`
	Channel    string    `json:"channel"`
	ProviderID string    `json:"provider_id,omitempty"`
	Since      time.Time `json:"since"`
	LastError  string    `json:"last_error,omitempty"`
}

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
			rows, err := a.heldRows(ctx, d.store, runID)
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

// heldRows lists the ambiguous rows of run runID (0: every run).
func (a *app) heldRows(ctx context.Context, st store.Store, runID int64) ([]heldRow, error) {
	out := []heldRow{}
	f := store.LedgerFilter{RunID: runID, States: []store.State{store.Ambiguous}}
	for {
		rows, err := st.ListLedger(ctx, f)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return out, nil
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ContactID
		}
		cs, err := st.GetContactsByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			ref := strconv.FormatInt(r.ContactID, 10)
			if c := cs[r.ContactID]; c != nil && c.ExternalID != "" {
				ref = c.ExternalID
			}
			out = append(out, heldRow{Ledger: r.ID, Run: r.RunID, Step: r.StepID, Contact: ref, Channel: r.Channel,
				ProviderID: r.ProviderID, Since: r.UpdatedAt, LastError: r.Error})
		}
		f.AfterID = rows[len(rows)-1].ID
	}
}

// selectHeld returns the ambiguous rows of run runID named by ids, or all
// of them with all; naming none is a user error.
func (a *app) selectHeld(ctx context.Context, st store.Store, runID int64, all bool, ids []string) ([]store.LedgerRow, error) {
	if all == (len(ids) > 0) {
		return nil, userErrorf("name the sends (LEDGER…) or give --all, not both")
	}
	if !all {
		out := make([]store.LedgerRow, 0, len(ids))
		for _, id := range ids {
			r, err := st.GetLedger(ctx, id)
			if err != nil || r.RunID != runID || r.State != store.Ambiguous {
				return nil, userErrorf("ledger %s is not a held send of run %d", id, runID)
			}
			out = append(out, r)
		}
		return out, nil
	}
	return st.ListLedger(ctx, store.LedgerFilter{RunID: runID, States: []store.State{store.Ambiguous}, Limit: 1 << 30})
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
			d, err := a.open(ctx, need{queue: true})
			if err != nil {
				return err
			}
			defer d.close()
			rows, err := a.selectHeld(ctx, d.store, runID, all, args[1:])
			if err != nil {
				return err
			}
			note := fmt.Sprintf("released for resend by %s at %s", a.operator(), a.clock().UTC().Format(time.RFC3339))
			released := 0
			for _, r := range rows {
				ok, err := d.store.Transition(ctx, r.ID, []store.State{store.Ambiguous}, store.Planned,
					store.Change{Reason: "released", Error: note})
				if err != nil {
					return err
				}
				if ok {
					released++
				}
			}
			insp := asynq.NewInspector(d.redisOpt)
			defer insp.Close()
			p := a.planner(d)
			p.Tasks = queue.InspectorReviver{Inspector: insp}
			r, err := d.store.GetRun(ctx, runID)
			if err != nil {
				return err
			}
			n, err := p.Recover(ctx, r)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]int{"released": released, "enqueued": n})
			}
			fmt.Fprintf(a.stdout, "released %d held send(s) of run %d; %d job(s) enqueued\n", released, runID, n)
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
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			rows, err := a.selectHeld(ctx, d.store, runID, all, args[1:])
			if err != nil {
				return err
			}
			to := store.Delivered
			if failed {
				to = store.Failed
			}
			now := a.clock().UTC()
			text := fmt.Sprintf("settled %s by %s at %s: %s", to, a.operator(), now.Format(time.RFC3339), note)
			evs, _ := d.store.(store.EventStore)
			settled := 0
			for _, r := range rows {
				ok, err := d.store.Transition(ctx, r.ID, []store.State{store.Ambiguous}, to,
					store.Change{Reason: "settled_by_operator", Error: text})
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				settled++
				if evs != nil {
					ev := store.Event{LedgerID: r.ID, Type: "settled", Detail: text, At: now,
						DedupeKey: "settled:" + r.ID}
					if _, err := evs.RecordEvents(ctx, []store.Event{ev}); err != nil {
						return err
					}
				}
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"settled": settled, "state": to})
			}
			fmt.Fprintf(a.stdout, "settled %d held send(s) of run %d as %s\n", settled, runID, to)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every held send of the run")
	cmd.Flags().BoolVar(&delivered, "delivered", false, "the messages did arrive")
	cmd.Flags().BoolVar(&failed, "failed", false, "the messages did not arrive")
	cmd.Flags().StringVar(&note, "note", "", "why (recorded with the operator's name and the time)")
	return cmd
}
