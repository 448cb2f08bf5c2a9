package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/rights"
)

// ImportResponse is the answer of POST /api/v1/contacts/import.
type ImportResponse struct {
	Inserted int              `json:"inserted"`
	Updated  int              `json:"updated"`
	Rejected int              `json:"rejected"`
	Errors   []ImportRowError `json:"errors"` // the first 100 rejected rows
}

// ImportRowError is a rejected row: its line (the CSV header is line 1)
// and the reason, which names the column but never quotes a cell.
type ImportRowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// importBatch is how many contacts are upserted together.
const importBatch = 1000

// importContacts imports a CSV (text/csv: separator and encoding sniffed
// as `relais contacts import` does) or JSONL (application/x-ndjson) body.
// The body is spooled to a temporary file because the audience reader
// sniffs the head and streams the rest; bad rows are reported and
// skipped, the rest is upserted in batches (idempotent: a retried import
// updates what the first one inserted).
func (s *Server) importContacts(w http.ResponseWriter, r *http.Request) {
	ext, err := importExt(r.Header.Get("Content-Type"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := os.CreateTemp("", "relais-import-*"+ext)
	if err != nil {
		s.fail(w, r, fmt.Errorf("import spool: %w", err))
		return
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, http.MaxBytesReader(w, r.Body, s.d.MaxImport))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.fail(w, r, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("import body larger than %d bytes", s.d.MaxImport)})
		return
	}
	if err != nil {
		s.fail(w, r, errMalformed("", "cannot read request body"))
		return
	}
	src, err := audience.OpenFile(f.Name(), nil)
	if errors.Is(err, audience.ErrFormat) {
		s.fail(w, r, errInvalid("body", "not a readable contacts file (header or encoding)"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.upsertAll(r.Context(), src)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	first, total := src.RowErrors()
	res.Rejected = total
	res.Errors = make([]ImportRowError, len(first))
	for i, e := range first {
		res.Errors[i] = ImportRowError{Line: e.Line, Reason: e.Reason}
	}
	writeJSON(w, http.StatusOK, res)
}

// upsertAll imports src with rights.Import when the store records
// consent proofs (consent cells become records with source "import:api"),
// else by plain upserts.
func (s *Server) upsertAll(ctx context.Context, src *audience.FileSource) (ImportResponse, error) {
	if is, ok := s.d.Store.(rights.ImportStore); ok {
		r, err := rights.Import(ctx, is, src, rights.ImportOptions{Source: "api", Now: s.d.Now})
		return ImportResponse{Inserted: r.Inserted, Updated: r.Updated}, err
	}
	var res ImportResponse
	batch := make([]*contact.Contact, 0, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ins, upd, err := s.d.Store.UpsertContacts(ctx, batch)
		res.Inserted += ins
		res.Updated += upd
		batch = batch[:0]
		return err
	}
	err := src.Each(ctx, func(c *contact.Contact) error {
		batch = append(batch, c)
		if len(batch) == importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return res, err
}

// importExt maps the request's media type to the file extension the
// audience reader dispatches on.
func importExt(ct string) (string, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && ct != "" {
		return "", &Error{Status: http.StatusUnsupportedMediaType, Code: CodeMalformed, Field: "Content-Type", Message: "malformed Content-Type"}
	}
	switch mt {
	case "text/csv":
		return ".csv", nil
	case "application/x-ndjson", "application/jsonl", "application/x-jsonlines":
		return ".jsonl", nil
	}
	return "", &Error{Status: http.StatusUnsupportedMediaType, Code: CodeMalformed, Field: "Content-Type",
		Message: "send text/csv or application/x-ndjson"}
}
