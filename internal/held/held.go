// Package held lists, releases and settles the sends of a run held as
// ambiguous, for the CLI, the API and the dashboard alike.
package held

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Row is a send held as ambiguous, as operators see it.
type Row struct {
	Ledger     string    `json:"ledger_id"`
	Run        int64     `json:"run_id"`
	Step       string    `json:"step"`
	Contact    string    `json:"contact_ref"`
	Channel    string    `json:"channel"`
	ProviderID string    `json:"provider_id,omitempty"`
	Since      time.Time `json:"since"`
	LastError  string    `json:"last_error,omitempty"`
}

// Reader is what listing held sends reads (store.Store implements it).
type Reader interface {
	ListLedger(ctx context.Context, f store.LedgerFilter) ([]store.LedgerRow, error)
	GetContactsByID(ctx context.Context, ids []int64) (map[int64]*contact.Contact, error)
}

// List returns the ambiguous rows of run runID (0: of every run), in
// ledger id order, each with its contact's external id as contact ref
// (the numeric contact id when it has none).
func List(ctx context.Context, st Reader, runID int64) ([]Row, error) {
	out := []Row{}
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
			out = append(out, Row{Ledger: r.ID, Run: r.RunID, Step: r.StepID, Contact: ref, Channel: r.Channel,
				ProviderID: r.ProviderID, Since: r.UpdatedAt, LastError: r.Error})
		}
		f.AfterID = rows[len(rows)-1].ID
	}
}

// InputError is a selection or an outcome an operator got wrong; Field
// names the input at fault (all, ledger_ids, outcome, note).
type InputError struct {
	Field, Msg string
}

func (e *InputError) Error() string { return e.Msg }

// IsInput reports whether err is an operator's mistake (an *InputError).
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// Selection names the held sends an action applies to: every one of the
// run (All) or the listed ledger ids, never both.
type Selection struct {
	All bool
	IDs []string
}

// selectRows returns the ambiguous rows of run runID that sel names; a
// named row that is not a held send of the run is an InputError.
func selectRows(ctx context.Context, st store.Store, runID int64, sel Selection) ([]store.LedgerRow, error) {
	if sel.All == (len(sel.IDs) > 0) {
		return nil, &InputError{Field: "ledger_ids", Msg: "name the held sends (ledger ids) or ask for all of them, not both"}
	}
	if !sel.All {
		out := make([]store.LedgerRow, 0, len(sel.IDs))
		for _, id := range sel.IDs {
			r, err := st.GetLedger(ctx, id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && (r.RunID != runID || r.State != store.Ambiguous)) {
				return nil, &InputError{Field: "ledger_ids", Msg: fmt.Sprintf("ledger %s is not a held send of run %d", id, runID)}
			}
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	return st.ListLedger(ctx, store.LedgerFilter{RunID: runID, States: []store.State{store.Ambiguous}, Limit: 1 << 30})
}

// Requeuer re-derives the queue tasks of a run's unfinished rows
// (run.Planner's Recover).
type Requeuer interface {
	Recover(ctx context.Context, r store.Run) (int, error)
}

// Released says what Release did.
type Released struct {
	Released int `json:"released"`
	Enqueued int `json:"enqueued"`
}

// Release puts the selected held sends of run runID back to planned,
// with who released them and when, and queues them again: they are sent
// with the same Message-ID, so a receiver can drop a duplicate.
func Release(ctx context.Context, st store.Store, q Requeuer, runID int64, sel Selection, operator string, now time.Time) (Released, error) {
	var out Released
	r, err := st.GetRun(ctx, runID)
	if err != nil {
		return out, err
	}
	rows, err := selectRows(ctx, st, runID, sel)
	if err != nil {
		return out, err
	}
	note := fmt.Sprintf("released for resend by %s at %s", operator, now.UTC().Format(time.RFC3339))
	for _, row := range rows {
		ok, err := st.Transition(ctx, row.ID, []store.State{store.Ambiguous}, store.Planned,
			store.Change{Reason: "released", Error: note})
		if err != nil {
			return out, err
		}
		if ok {
			out.Released++
		}
	}
	out.Enqueued, err = q.Recover(ctx, r)
	return out, err
}

// Settled says what Settle did.
type Settled struct {
	Settled int         `json:"settled"`
	State   store.State `json:"state"`
}

// Settle closes the selected held sends of run runID without sending, as
// delivered or failed, recording who, when and why on each row and as a
// "settled" event.
func Settle(ctx context.Context, st store.Store, runID int64, sel Selection, to store.State, note, operator string, now time.Time) (Settled, error) {
	out := Settled{State: to}
	if to != store.Delivered && to != store.Failed {
		return out, &InputError{Field: "outcome", Msg: `outcome must be "delivered" or "failed"`}
	}
	if note == "" {
		return out, &InputError{Field: "note", Msg: "a note is required: say why (a bounce seen, the recipient confirmed…)"}
	}
	if _, err := st.GetRun(ctx, runID); err != nil {
		return out, err
	}
	rows, err := selectRows(ctx, st, runID, sel)
	if err != nil {
		return out, err
	}
	text := fmt.Sprintf("settled %s by %s at %s: %s", to, operator, now.UTC().Format(time.RFC3339), note)
	evs, _ := st.(store.EventStore)
	for _, row := range rows {
		ok, err := st.Transition(ctx, row.ID, []store.State{store.Ambiguous}, to,
			store.Change{Reason: "settled_by_operator", Error: text})
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		out.Settled++
		if evs != nil {
			ev := store.Event{LedgerID: row.ID, Type: "settled", Detail: text, At: now.UTC(), DedupeKey: "settled:" + row.ID}
			if _, err := evs.RecordEvents(ctx, []store.Event{ev}); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
