// Package rights runs the contact base's data-protection operations on
// the store: imports that turn consent columns into consent records with
// their proof, the access/portability export, erasure and the retention
// job. The CLI and the HTTP API call it; the scheduler calls
// Retention.
package rights

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// ImportBatch is how many contacts an import upserts per transaction.
const ImportBatch = 1000

// ImportStore is what an import writes to; both store backends implement
// it.
type ImportStore interface {
	UpsertContacts(ctx context.Context, cs []*contact.Contact) (inserted, updated int, err error)
	ImportConsents(ctx context.Context, recs []store.ConsentRecord) (int, error)
}

// ImportResult counts what an import did. Rejected rows were skipped;
// Errors holds each as "file:line: reason" (all of them: an import is
// reviewed row by row, unlike a campaign audience).
type ImportResult struct {
	Inserted int      `json:"inserted"`
	Updated  int      `json:"updated"`
	Rejected int      `json:"rejected"`
	Consents int      `json:"consents_recorded"`
	Errors   []string `json:"errors"`
	// Warnings holds, as "file:line: what", what normalization changed in
	// imported rows that the user should check (a line break folded in a
	// name, an unknown country).
	Warnings []string `json:"warnings"`
}

// ImportOptions tune Import. The zero value is usable.
type ImportOptions struct {
	// Source names the import in consent proofs: "import:<Source>".
	// Default: the file's base name.
	Source string
	// Now is the time recorded on consents (default time.Now).
	Now func() time.Time
	// OnReject is called for each rejected row as it is found (optional).
	OnReject func(audience.RowError)
}

// Import streams src (one pass, memory flat whatever its size) into the
// store in batches of ImportBatch: contacts are upserted (matched by
// external id, else normalized email, else phone) and each consent cell
// becomes a marketing consent record with source "import:<name>" and the
// import time, under store.RightsStore.ImportConsents' rule (an opt-out
// is never undone by a re-import). Suppressions are keyed by address and
// untouched, so a forgotten or opted-out address stays refused. Rows the
// source rejects are counted and reported, never changed. Store errors
// are wrapped; the batches before one failed stay written (re-running the
// import is safe: it is idempotent).
func Import(ctx context.Context, st ImportStore, src *audience.FileSource, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{Errors: []string{}, Warnings: []string{}}
	if src == nil {
		return res, errors.New("rights: import: nil source")
	}
	name := opts.Source
	if name == "" {
		name = filepath.Base(src.Path)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	prev := src.OnRowError
	src.OnRowError = func(e audience.RowError) {
		res.Rejected++
		res.Errors = append(res.Errors, e.Error())
		if opts.OnReject != nil {
			opts.OnReject(e)
		}
		if prev != nil {
			prev(e)
		}
	}
	defer func() { src.OnRowError = prev }()
	prevWarn := src.OnRowWarning
	src.OnRowWarning = func(e audience.RowError) {
		res.Warnings = append(res.Warnings, e.Error())
		if prevWarn != nil {
			prevWarn(e)
		}
	}
	defer func() { src.OnRowWarning = prevWarn }()

	batch := make([]*contact.Contact, 0, ImportBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ins, upd, err := st.UpsertContacts(ctx, batch)
		if err != nil {
			return fmt.Errorf("rights: import: store contacts: %w", err)
		}
		res.Inserted += ins
		res.Updated += upd
		recs := consentRecords(batch, store.ImportSourcePrefix+name, now().UTC())
		n, err := st.ImportConsents(ctx, recs)
		if err != nil {
			return fmt.Errorf("rights: import: record consents: %w", err)
		}
		res.Consents += n
		batch = batch[:0]
		return nil
	}
	err := src.Each(ctx, func(c *contact.Contact) error {
		batch = append(batch, c)
		if len(batch) == ImportBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return res, err
}

// consentRecords turns the known consent cells of stored contacts into
// marketing consent records.
func consentRecords(cs []*contact.Contact, source string, at time.Time) []store.ConsentRecord {
	var recs []store.ConsentRecord
	for _, c := range cs {
		// By consent record, in a stable order.
		for _, ch := range slices.Sorted(maps.Keys(c.Consent)) {
			v := c.Consent[ch]
			if v == nil {
				continue
			}
			recs = append(recs, store.ConsentRecord{ContactID: c.ID, Channel: ch, Purpose: contact.PurposeMarketing,
				Granted: *v, Source: source, At: at})
		}
	}
	return recs
}
