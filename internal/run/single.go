package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/version"
)

// StartOne is Start for one recipient given by the caller (the HTTP API's
// transactional send): it creates or finds the run of sp with runKey,
// inserts a ledger row per initial step with the channel chosen as Start
// chooses it, stores data as the payload of each new row in the same
// transaction (so no row exists without its data), enqueues the sendable
// rows and marks the run sending. c must be stored (c.ID set). Calling it
// again with the same run key re-enqueues and duplicates nothing.
// p.Store must implement store.APIStore when data is not empty.
func (p *Planner) StartOne(ctx context.Context, sp *campaign.Spec, c *contact.Contact, data map[string]any, runKey string) (Result, []store.LedgerRow, error) {
	if c == nil || c.ID == 0 {
		return Result{}, nil, errors.New("start one: the contact is not stored")
	}
	if runKey == "" {
		return Result{}, nil, errors.New("start one: empty run key")
	}
	if err := version.Save(ctx, p.Store, sp); err != nil {
		return Result{}, nil, err
	}
	r, created, err := p.Store.CreateRun(ctx, store.Run{CampaignID: sp.ID, RunKey: runKey, ContentHash: sp.ContentHash, State: store.RunExpanding})
	if err != nil {
		return Result{}, nil, fmt.Errorf("create run: %w", err)
	}
	res := newResult(sp)
	res.Run, res.Created = r, created
	if r.ContentHash != sp.ContentHash {
		return res, nil, fmt.Errorf("run key %q was used by another version of campaign %s (%.12s)", runKey, sp.ID, r.ContentHash)
	}
	// Rows written by an earlier attempt with this run key are kept as
	// they are: choosing again could pick another channel (an address
	// suppressed since) and make a second row, hence a second message.
	existing, err := p.Store.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
	if err != nil {
		return res, nil, fmt.Errorf("list ledger: %w", err)
	}
	var rows []store.LedgerRow
steps:
	for _, st := range initialSteps(sp) {
		for _, e := range existing {
			if e.StepID == st.ID && e.ContactID == c.ID {
				rows = append(rows, e)
				continue steps
			}
		}
		ch, dec, err := p.choose(ctx, sp, st, c)
		if err != nil {
			return res, nil, err
		}
		res.count(sp, ch, dec)
		rows = append(rows, p.ledgerRow(r, sp, st, c, ch, dec))
	}
	if as, ok := p.Store.(store.APIStore); ok {
		_, err = as.InsertLedgerPayload(ctx, rows, data)
	} else if len(data) > 0 {
		err = errors.New("the store cannot keep per-message data")
	} else {
		_, err = p.Store.InsertLedger(ctx, rows)
	}
	if err != nil {
		return res, nil, fmt.Errorf("insert ledger: %w", err)
	}
	// A replay must report the stored rows, not those just recomputed: the
	// policy may answer differently now (a refusal recorded since).
	for i := range rows {
		if got, err := p.Store.GetLedger(ctx, rows[i].ID); err == nil {
			rows[i] = got
		}
	}
	if p.Queue != nil {
		n, err := p.enqueue(ctx, rows)
		res.Enqueued = n
		if err != nil {
			return res, rows, err
		}
		if res.Spooled(p.channels()) {
			if err := p.enqueueAssembly(ctx, r.ID); err != nil {
				return res, rows, err
			}
		}
	}
	if err := p.Store.SetRunState(ctx, r.ID, store.RunSending, len(rows)); err != nil {
		return res, rows, err
	}
	if got, err := p.Store.GetRun(ctx, r.ID); err == nil {
		res.Run = got
	}
	return res, rows, nil
}
