package worker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// Assembler turns a run's spooled letters into batch PDFs (print.Batcher).
type Assembler interface {
	Assemble(ctx context.Context, runID string) ([]print.BatchResult, error)
}

// HandleAssemble assembles a run's print batches once none of its print
// sends is pending; until then it re-queues itself.
func (w *Worker) HandleAssemble(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseRun(t)
	if err != nil {
		return permanent(err)
	}
	busy, err := SpoolPending(ctx, w.Store, w.Channels, p.RunID)
	if err != nil {
		return err
	}
	if busy {
		// A new task id (with the time) since this one is still running.
		_, err := w.Queue.EnqueueContext(ctx, asynq.NewTask(queue.TypeAssemblePrint, t.Payload(),
			asynq.Queue(queue.Maintenance), asynq.ProcessIn(queue.AssembleRecheck),
			asynq.TaskID("assemble:"+strconv.FormatInt(p.RunID, 10)+":"+strconv.FormatInt(w.now().Unix(), 10))))
		if queue.IsDuplicate(err) {
			return nil
		}
		return err
	}
	_, err = w.AssemblePrint(ctx, p.RunID)
	return err
}

// ReasonPrintPreflight prefixes the reason of a letter whose batch the
// preflight rejected: "print_preflight: <what the preflight found>".
const ReasonPrintPreflight = "print_preflight"

// AssemblePrint assembles run's batches now, logs each batch and settles
// its letters: spooled rows become accepted when their batch passed the
// preflight, and failed, with the preflight's finding as their reason,
// when it was rejected (a letter accepted by an earlier assembly of the
// same spool fails too: its batch is not released).
func (w *Worker) AssemblePrint(ctx context.Context, runID int64) ([]print.BatchResult, error) {
	if w.Assembler == nil {
		return nil, nil
	}
	res, err := w.Assembler.Assemble(ctx, strconv.FormatInt(runID, 10))
	if err != nil {
		return nil, err
	}
	for _, b := range res {
		from, to, ch := []store.State{store.Spooled}, store.Accepted, store.Change{}
		if b.Rejected {
			w.log().Error("print batch rejected by preflight", "run", runID, "batch", b.Name, "reason", b.Reason)
			reason := ReasonPrintPreflight + ": batch " + b.Name + ": " + b.Reason
			from, to, ch = []store.State{store.Spooled, store.Accepted}, store.Failed, store.Change{Reason: reason, Error: reason}
		} else {
			w.log().Info("print batch ready", "run", runID, "batch", b.Name, "letters", b.Letters, "pages", b.Pages, "pdf", b.PDF)
		}
		for _, id := range b.LedgerIDs {
			if _, err := w.Store.Transition(ctx, id, from, to, ch); err != nil {
				return res, fmt.Errorf("print batch %s: settle %s: %w", b.Name, id, err)
			}
		}
	}
	return res, nil
}

// SpoolPending reports whether any send of the run on a spooled channel
// (print) is still to be acted on: its batches wait until none is.
func SpoolPending(ctx context.Context, st store.Store, channels *channel.Registry, runID int64) (bool, error) {
	f := store.LedgerFilter{RunID: runID, States: store.NonTerminal, Limit: 1000}
	for {
		rows, err := st.ListLedger(ctx, f)
		if err != nil {
			return false, err
		}
		for _, r := range rows {
			if d, ok := channels.Lookup(r.Channel); ok && d.Spooled {
				return true, nil
			}
		}
		if len(rows) < f.Limit {
			return false, nil
		}
		f.AfterID = rows[len(rows)-1].ID
	}
}
