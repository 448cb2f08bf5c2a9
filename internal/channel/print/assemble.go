package print

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
)

// BatchResult describes one batch written by Assemble.
type BatchResult struct {
	Name     string  `json:"name"`               // "<run>-001"
	PDF      string  `json:"pdf"`                // path of the PDF ("<name>.pdf", or "<name>.rejected.pdf")
	Manifest string  `json:"manifest"`           // path of "<name>.csv"
	Letters  int     `json:"letters"`            // letters in the batch
	Pages    int     `json:"pages"`              // PDF pages, blank versos included
	Sheets   int     `json:"sheets"`             // sheets printed duplex (Pages/2)
	Cost     float64 `json:"cost"`               // Letters × cost per letter
	Currency string  `json:"currency"`           // of Cost
	Rejected bool    `json:"rejected,omitempty"` // preflight failed: not released
	Reason   string  `json:"reason,omitempty"`   // why it was rejected
	// LedgerIDs are the ledger rows of the batch's letters, in print
	// order: the caller settles them by the batch's verdict.
	LedgerIDs []string `json:"-"`
}

// manifestRow is one letter of a batch in the manifest CSV.
type manifestRow struct {
	Seq                 int
	LedgerID, Ref       string
	First, Last, Sheets int
	Postcode, Code      string
	addr                placed
}

// Assemble turns the letters spooled for runID into batch PDFs under
// dir/out/<run>/: letters sorted by postcode, BatchSize per batch, each
// letter starting on a recto (a blank verso follows an odd page count, for
// duplex printing), its inserts appended, each also starting on a recto.
// Every batch gets a manifest CSV and goes through the preflight (fonts
// embedded, page count, address inside the window, read back from the PDF); a failing
// batch is renamed "<name>.rejected.pdf" with "<name>.rejected.txt" saying
// why, and reported with Rejected set. A summary.json lists all batches.
// Call it once the run's print jobs are done; calling it again rebuilds the
// batches from the spool. An error means nothing usable was written.
func (b *Batcher) Assemble(ctx context.Context, runID string) ([]BatchResult, error) {
	run := safeName(runID)
	if run == "" {
		run = "default"
	}
	files, err := b.spooled(run)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(b.dir, "out", run)
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("print: assemble: %w", err)
	}
	results, err := b.assembleBatches(ctx, run, out, files)
	if err != nil {
		return results, err
	}
	if err := writeSummary(out, run, results); err != nil {
		return results, err
	}
	return results, nil
}

// assembleBatches lays out the batches of files, up to GOMAXPROCS at a
// time: batches are independent PDFs, so each is the same bytes whatever
// the order they are built in. On error it returns the batches before the
// first failing one, as a sequential loop would.
func (b *Batcher) assembleBatches(ctx context.Context, run, out string, files []spoolEntry) ([]BatchResult, error) {
	n := (len(files) + b.batchSize - 1) / b.batchSize
	results := make([]BatchResult, n)
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool // stop taking batches after an error
	var wg sync.WaitGroup
	workers := b.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				if errs[k] = ctx.Err(); errs[k] != nil || failed.Load() {
					if errs[k] == nil {
						errs[k] = fmt.Errorf("print: batch %s-%03d: skipped after an earlier error", run, k+1)
					}
					continue
				}
				i := k * b.batchSize
				chunk := files[i:min(i+b.batchSize, len(files))]
				name := fmt.Sprintf("%s-%03d", run, k+1)
				res, err := b.assembleBatch(ctx, run, out, name, chunk, i)
				if err != nil {
					err = fmt.Errorf("print: batch %s: %w", name, err)
					failed.Store(true)
				}
				results[k], errs[k] = res, err
			}
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return results[:k], err
		}
	}
	return results, nil
}

func (b *Batcher) assembleBatch(ctx context.Context, run, out, name string, files []spoolEntry, seq0 int) (BatchResult, error) {
	res := BatchResult{Name: name, Manifest: filepath.Join(out, name+".csv"), Letters: len(files), Currency: b.currency}
	f := newDoc(b.layout)
	rows := make([]manifestRow, 0, len(files))
	// seq lists, in final order, the pages of the letters document (1-based)
	// and of the inserts, which are merged after it at insertBase[hash].
	var pages []pageRef
	hasInserts := false
	next := prepare(ctx, files)
	for i := range files {
		l, err := next(i)
		if err != nil {
			return res, err
		}
		before := f.PageCount()
		p, err := renderLetter(f, l, b.layout)
		if err != nil {
			return res, err
		}
		n := p.Pages
		if n%2 == 1 {
			f.AddPage() // blank verso so the next letter starts on a recto
			n++
		}
		row := manifestRow{Seq: seq0 + i + 1, LedgerID: l.LedgerID, Ref: l.ContactRef, Postcode: l.Postcode, Code: l.ResponseCode, addr: p}
		row.First = len(pages) + 1
		for k := 1; k <= n; k++ {
			pages = append(pages, pageRef{page: before + k})
		}
		for _, in := range l.Inserts {
			hasInserts = true
			for k := 1; k <= in.Pages; k++ {
				pages = append(pages, pageRef{insert: in.Hash, page: k})
			}
			if in.Pages%2 == 1 {
				pages = append(pages, pageRef{blank: true})
			}
		}
		row.Last = len(pages)
		row.Sheets = (row.Last - row.First + 1) / 2
		rows = append(rows, row)
		res.LedgerIDs = append(res.LedgerIDs, l.LedgerID)
	}
	blankPage := 0
	if hasInserts {
		f.AddPage() // one shared blank page for the versos of odd inserts
		blankPage = f.PageCount()
	}
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return res, fmt.Errorf("write PDF: %w", err)
	}
	tmp := filepath.Join(out, "."+name+".pdf.tmp")
	if hasInserts {
		if err := b.mergeInserts(ctx, run, buf.Bytes(), pages, blankPage, tmp); err != nil {
			return res, err
		}
	} else if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return res, fmt.Errorf("write PDF: %w", err)
	}
	res.Pages = len(pages)
	res.Sheets = res.Pages / 2
	res.Cost = float64(res.Letters) * b.cost
	if err := writeManifest(res.Manifest, rows); err != nil {
		return res, err
	}
	final := filepath.Join(out, name+".pdf")
	rejectTxt := filepath.Join(out, name+".rejected.txt")
	os.Remove(rejectTxt)
	if perr := preflight(tmp, res.Pages, rows, b.envelope); perr != nil {
		res.Rejected, res.Reason = true, perr.Error()
		res.PDF = filepath.Join(out, name+".rejected.pdf")
		os.Remove(final)
		if err := os.WriteFile(rejectTxt, []byte(perr.Error()+"\n"), 0o600); err != nil {
			return res, fmt.Errorf("write rejection: %w", err)
		}
		return res, os.Rename(tmp, res.PDF)
	}
	res.PDF = final
	if err := os.Rename(tmp, final); err != nil {
		return res, fmt.Errorf("release PDF: %w", err)
	}
	return res, nil
}

// pageRef is one page of the final batch: a page of the letters document,
// a page of an insert, or a blank verso.
type pageRef struct {
	insert string
	page   int
	blank  bool
}

// mergeInserts appends each distinct insert once to the letters document
// with pdfcpu, then lays the pages out in letter order. Reusing one copy
// of each insert keeps the file small and the assembly fast: pdfcpu shares
// the insert's resources between its repetitions.
func (b *Batcher) mergeInserts(ctx context.Context, run string, letters []byte, pages []pageRef, blankPage int, out string) error {
	conf := pdfConf()
	srcs := []io.ReadSeeker{bytes.NewReader(letters)}
	base := map[string]int{}
	next := blankPage
	for _, p := range pages {
		if p.insert == "" {
			continue
		}
		if _, ok := base[p.insert]; ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.dir, "spool", run, "inserts", p.insert+".pdf"))
		if err != nil {
			return fmt.Errorf("read insert: %w", err)
		}
		n, err := api.PageCount(bytes.NewReader(data), conf)
		if err != nil {
			return fmt.Errorf("read insert: %w", err)
		}
		base[p.insert] = next
		next += n
		srcs = append(srcs, bytes.NewReader(data))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var merged bytes.Buffer
	if err := api.MergeRaw(srcs, &merged, false, conf); err != nil {
		return fmt.Errorf("merge inserts: %w", err)
	}
	mctx, err := api.ReadAndValidate(bytes.NewReader(merged.Bytes()), conf)
	if err != nil {
		return fmt.Errorf("read merged PDF: %w", err)
	}
	seq := make([]int, len(pages))
	for i, p := range pages {
		switch {
		case p.blank:
			seq[i] = blankPage
		case p.insert != "":
			seq[i] = base[p.insert] + p.page
		default:
			seq[i] = p.page
		}
	}
	dst, err := pdfcpu.ExtractPages(mctx, seq, true)
	if err != nil {
		return fmt.Errorf("order pages: %w", err)
	}
	fh, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write PDF: %w", err)
	}
	werr := api.WriteContext(dst, fh)
	if err := fh.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write PDF: %w", werr)
	}
	return nil
}

// ManifestHeader is the first row of every manifest CSV.
var ManifestHeader = []string{"sequence", "ledger_id", "contact_ref", "first_page", "last_page", "sheets", "postcode", "response_code"}

func writeManifest(path string, rows []manifestRow) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(ManifestHeader)
	for _, r := range rows {
		_ = w.Write([]string{
			strconv.Itoa(r.Seq), SafeCell(r.LedgerID), SafeCell(r.Ref),
			strconv.Itoa(r.First), strconv.Itoa(r.Last), strconv.Itoa(r.Sheets),
			SafeCell(r.Postcode), SafeCell(r.Code),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// SafeCell neutralises a CSV cell a spreadsheet would run as a formula
// (starting with = + - @, tab or carriage return) by prefixing a quote.
func SafeCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// Summary totals a run's batches; Assemble writes it as summary.json.
type Summary struct {
	Run      string        `json:"run"`
	Letters  int           `json:"letters"`
	Pages    int           `json:"pages"`
	Sheets   int           `json:"sheets"`
	Cost     float64       `json:"cost"`
	Currency string        `json:"currency"`
	Rejected int           `json:"rejected_batches"`
	Batches  []BatchResult `json:"batches"`
}

func writeSummary(out, run string, results []BatchResult) error {
	s := Summary{Run: run, Batches: results}
	for _, r := range results {
		s.Letters += r.Letters
		s.Pages += r.Pages
		s.Sheets += r.Sheets
		s.Cost += r.Cost
		s.Currency = r.Currency
		if r.Rejected {
			s.Rejected++
		}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("print: summary: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "summary.json"), data, 0o600); err != nil {
		return fmt.Errorf("print: summary: %w", err)
	}
	return nil
}

// prepare reads and decodes the letters of a batch and encodes their QR
// codes on all cores, ahead of the single-threaded layout; next(i) waits
// for letter i. Letters are prepared in order, so memory stays bounded by
// the batch.
func prepare(ctx context.Context, files []spoolEntry) (next func(i int) (*letter, error)) {
	type prepared struct {
		l    *letter
		err  error
		done chan struct{}
	}
	out := make([]prepared, len(files))
	for i := range out {
		out[i].done = make(chan struct{})
	}
	var counter atomic.Int64
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		go func() {
			for {
				i := int(counter.Add(1) - 1)
				if i >= len(files) {
					return
				}
				p := &out[i]
				if p.err = ctx.Err(); p.err == nil {
					p.l, p.err = readLetter(files[i])
				}
				if p.err == nil && p.l.ResponseURL != "" {
					p.l.qr, p.err = qrBitmap(p.l.ResponseURL)
				}
				close(p.done)
			}
		}()
	}
	return func(i int) (*letter, error) {
		<-out[i].done
		l, err := out[i].l, out[i].err
		out[i].l = nil // let the letter go once laid out
		return l, err
	}
}
