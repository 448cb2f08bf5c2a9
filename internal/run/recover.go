package run

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
)

// revive asks the queue to clear row r's task t when it will never run
// again; false when no Reviver is configured.
func (p *Planner) revive(ctx context.Context, r *store.LedgerRow, t *asynq.Task) (bool, error) {
	if p.Tasks == nil {
		return false, nil
	}
	return p.Tasks.Revive(ctx, queue.ForPurpose(r.Purpose), queue.SendTaskID(r.ID, r.NotBefore))
}

// RecoverReport says what RecoverAll did.
type RecoverReport struct {
	// Rows is the number of non-terminal rows examined, of every run.
	Rows int `json:"rows"`
	// Submitting is how many of them were found mid-submission: their
	// task, run again, holds them as ambiguous (or resends them once
	// under on_ambiguous: resend).
	Submitting int `json:"submitting"`
	// Recording is how many rows found mid-submission have their
	// provider's answer waiting in a record task (written when the store
	// took it back): they are left alone, never judged ambiguous.
	Recording int `json:"recording"`
	// Enqueued is how many tasks were (re)created: missing, archived or
	// completed ones; the others were still queued or running.
	Enqueued int `json:"enqueued"`
	// Runs is the number of runs with at least one such row.
	Runs int `json:"runs"`
}

// RecoverAll re-derives the queue from the ledger for every non-terminal
// row of every run, however old: a row whose task is missing (Redis lost
// its data), archived (its retries ran out, during a database outage for
// example) or completed while the row is not final gets a task again; a
// run with letters left spooled gets its print assembly queued.
func (p *Planner) RecoverAll(ctx context.Context) (RecoverReport, error) {
	var rep RecoverReport
	runs := map[int64]bool{}
	f := store.LedgerFilter{States: store.NonTerminal, Limit: BatchSize}
	for {
		rows, err := p.Store.ListLedger(ctx, f)
		if err != nil {
			return rep, err
		}
		if len(rows) == 0 {
			rep.Runs = len(runs)
			return rep, p.assembleAllSpooled(ctx)
		}
		f.AfterID = rows[len(rows)-1].ID
		rep.Rows += len(rows)
		for i := range rows {
			runs[rows[i].RunID] = true
			if rows[i].State == store.Submitting {
				rep.Submitting++
			}
		}
		rows, recording, err := p.submitting(ctx, rows)
		if err != nil {
			return rep, err
		}
		rep.Recording += recording
		rep.Submitting -= recording
		if rows, err = p.unbatched(ctx, rows); err != nil {
			return rep, err
		}
		n, err := p.enqueue(ctx, rows)
		rep.Enqueued += n
		if err != nil {
			return rep, err
		}
	}
}

// unbatched drops from rows those carried by a batch task: such a row has
// no task under its own id, and queuing one would send it twice. The rows
// without a task of their own are found first, the batches listed after,
// so a row gathered into a batch meanwhile is still seen in its batch.
// Without a BatchLister rows are returned as they are.
func (p *Planner) unbatched(ctx context.Context, rows []store.LedgerRow) ([]store.LedgerRow, error) {
	bl, ok := p.Tasks.(queue.BatchLister)
	if !ok || len(rows) == 0 {
		return rows, nil
	}
	ids := make(map[string]string, len(rows))
	for i := range rows {
		ids[queue.SendTaskID(rows[i].ID, rows[i].NotBefore)] = queue.ForPurpose(rows[i].Purpose)
	}
	missing, err := bl.Missing(ctx, ids)
	if err != nil || len(missing) == 0 {
		return rows, err
	}
	batched, err := bl.Batched(ctx)
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		if !missing[queue.SendTaskID(r.ID, r.NotBefore)] || !batched[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// submitting prepares rows for a re-enqueue: a row found submitting whose
// outcome waits in a record task is dropped (counted in recording), the
// others are enqueued as claimed so their task decides (hold as
// ambiguous, or resend once under on_ambiguous: resend).
func (p *Planner) submitting(ctx context.Context, rows []store.LedgerRow) (_ []store.LedgerRow, recording int, _ error) {
	out := rows[:0]
	for _, r := range rows {
		if r.State == store.Submitting {
			if p.Tasks != nil {
				rec, err := p.Tasks.Recording(ctx, r.ID, r.Attempts)
				if err != nil {
					return nil, recording, err
				}
				if rec {
					recording++
					continue
				}
			}
			r.State = store.Claimed
		}
		out = append(out, r)
	}
	return out, recording, nil
}

// assembleAllSpooled queues the print assembly of every run with letters
// waiting in the spool (their assembly task was lost with Redis).
func (p *Planner) assembleAllSpooled(ctx context.Context) error {
	done := map[int64]bool{}
	f := store.LedgerFilter{States: []store.State{store.Spooled}, Limit: BatchSize}
	for {
		rows, err := p.Store.ListLedger(ctx, f)
		if err != nil || len(rows) == 0 {
			return err
		}
		f.AfterID = rows[len(rows)-1].ID
		for _, r := range rows {
			if !done[r.RunID] {
				done[r.RunID] = true
				if err := p.enqueueAssembly(ctx, r.RunID); err != nil {
					return err
				}
			}
		}
	}
}

// rowKey is a contact's send of a step in a run, whatever the channel.
type rowKey struct {
	step    string
	contact int64
}

// existingRows reads the rows a run has already, for a resumed expansion:
// a contact with a row for a step keeps it, even when the channel chosen
// now would differ (an address or a consent changed meanwhile), so that
// a step never goes to one contact on two channels.
func (p *Planner) existingRows(ctx context.Context, runID int64) (map[rowKey]store.LedgerRow, error) {
	out := map[rowKey]store.LedgerRow{}
	f := store.LedgerFilter{RunID: runID, Limit: BatchSize}
	for {
		rows, err := p.Store.ListLedger(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("resume: read the run's rows: %w", err)
		}
		if len(rows) == 0 {
			return out, nil
		}
		for _, r := range rows {
			out[rowKey{r.StepID, r.ContactID}] = r
		}
		f.AfterID = rows[len(rows)-1].ID
	}
}

// decisionOf is the planning decision an existing row stands for.
func decisionOf(r store.LedgerRow) policy.Decision {
	switch r.State {
	case store.Refused:
		return policy.Decision{Verdict: policy.Deny, Reason: r.Reason}
	case store.Deferred:
		return policy.Decision{Verdict: policy.Defer, Reason: r.Reason, NotBefore: r.NotBefore}
	}
	return policy.Decision{Verdict: policy.Allow}
}
