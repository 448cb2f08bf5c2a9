package print

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/uuid"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/relais-dev/relais/internal/channel"
	printch "github.com/relais-dev/relais/internal/channel/builtin/print"
	"github.com/relais-dev/relais/internal/postal"
)

// ReasonInvalidInsert is the refusal reason when an insert is not a
// readable PDF: every letter of the step would fail the same way.
const ReasonInvalidInsert = "invalid_insert"

// DefaultBatchSize is the number of letters per batch PDF: large enough
// for a print shop's job, small enough to reprint one batch cheaply.
const DefaultBatchSize = 500

// Batcher spools letters on disk as they are sent and assembles a run's
// letters into print-ready batches. The spool is an append-only file of
// JSON lines per run and process (dir/spool/<run>/letters/*.jsonl), each
// line prefixed with its sort key and letter id, so that Assemble indexes
// letters without decoding them (about 60 bytes of memory per letter) and
// keeps only one batch of letters in memory; a retried send appends a new
// line and the last one wins, so a letter is never printed twice.
type Batcher struct {
	dir       string
	layout    postal.Layout
	batchSize int
	// workers bounds the batches Assemble lays out at once; 0 means
	// GOMAXPROCS (tests set 1 to compare with a sequential assembly).
	workers  int
	now      func() time.Time
	cost     float64
	currency string
	// envelope is the window the preflight checks against: the layout's,
	// kept apart so tests can simulate a mismatched envelope.
	envelope postal.Rect
	// preflightWindow, set by WithPreflightWindow, replaces envelope.
	preflightWindow *postal.Rect

	inserts  sync.Map // run+"/"+hash → pages, for inserts already spooled
	mu       sync.Mutex
	spools   map[string]*os.File // run → this process's append-only spool
	measurer sync.Pool           // *fpdf.Fpdf with fonts loaded, to measure text widths
}

// Option configures a Batcher; an invalid value is an error from NewBatcher.
type Option func(*Batcher) error

// WithBatchSize sets the letters per batch (default DefaultBatchSize).
func WithBatchSize(n int) Option {
	return func(b *Batcher) error {
		if n < 1 {
			return fmt.Errorf("print: batch size %d must be positive", n)
		}
		b.batchSize = n
		return nil
	}
}

// WithPreflightWindow makes the preflight check every address against r
// instead of the layout's window: the envelope a print shop stuffs the
// letters into when it is not the one they were laid out for.
func WithPreflightWindow(r postal.Rect) Option {
	return func(b *Batcher) error {
		if r.W <= 0 || r.H <= 0 {
			return fmt.Errorf("print: preflight window %v must have a positive size", r)
		}
		b.preflightWindow = &r
		return nil
	}
}

// NewBatcher returns a Batcher spooling and writing under dir. It checks
// the layout (postal.Layout.Normalize) but touches no file until the first Send.
func NewBatcher(dir string, layout postal.Layout, opts ...Option) (*Batcher, error) {
	if dir == "" {
		return nil, errors.New("print: empty output directory")
	}
	lay, err := layout.Normalize()
	if err != nil {
		return nil, err
	}
	b := &Batcher{dir: dir, layout: lay, batchSize: DefaultBatchSize, now: time.Now, cost: 0.70, currency: "EUR"}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	b.envelope = lay.WindowRect
	if b.preflightWindow != nil {
		b.envelope = *b.preflightWindow
	}
	b.measurer.New = func() any { return newDoc(lay) }
	return b, nil
}

// Layout returns the normalized layout the Batcher uses.
func (b *Batcher) Layout() postal.Layout { return b.layout }

// Sender returns the channel.Sender that spools letters into b.
func (b *Batcher) Sender() *Sender { return &Sender{b: b} }

// Sender is the print channel's channel.Sender. Send lays nothing out on
// paper yet: it validates and spools the letter, and the run's batches are
// produced by Batcher.Assemble. It is safe for concurrent use.
type Sender struct{ b *Batcher }

var _ channel.Sender = (*Sender)(nil)

// Name returns printch.Name.
func (s *Sender) Name() string { return printch.Name }

// Close closes the spool files; every Send was written when it returned.
func (s *Sender) Close() error { return s.b.closeSpools() }

// Send validates m and spools it for its run (m.RunID, or m.Campaign when
// empty). The receipt's ProviderID is "print:<run>:<letter>", where the
// letter id is derived from m.LedgerID and appears in the batch manifest.
// An address that cannot be written to NF Z10-011 or does not fit the
// envelope window, and an insert that is not a PDF, are permanent
// refusals (*postal.RefusalError); disk errors are temporary.
func (s *Sender) Send(ctx context.Context, m *channel.Message) (channel.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return channel.Receipt{}, err
	}
	b := s.b
	l, err := newLetter(m, b.layout, b.now())
	if err != nil {
		return channel.Receipt{}, err
	}
	if err := b.checkWindow(l.Address); err != nil {
		return channel.Receipt{}, err
	}
	run := runKey(m)
	runDir := filepath.Join(b.dir, "spool", run)
	for _, in := range m.Inserts {
		ref, err := b.spoolInsert(runDir, run, in.Data)
		if err != nil {
			return channel.Receipt{}, err
		}
		l.Inserts = append(l.Inserts, ref)
	}
	id := safeName(m.LedgerID)
	if id == "" {
		id = uuid.NewString()
	}
	data, err := json.Marshal(l)
	if err != nil {
		return channel.Receipt{}, fmt.Errorf("print: encode letter: %w", err)
	}
	if err := b.appendLetter(run, sortKey(l), id, data); err != nil {
		return channel.Receipt{}, err
	}
	return channel.Receipt{ProviderID: "print:" + run + ":" + id}, nil
}

// checkWindow refuses an address whose longest line would cross the
// window's edge in the layout's font, so that no batch fails preflight
// later for one letter.
func (b *Batcher) checkWindow(lines []string) error {
	f := b.measurer.Get().(*fpdf.Fpdf)
	defer b.measurer.Put(f)
	f.SetFont(family, styleRegular, addrFont)
	room := b.layout.WindowRect.W - 2*addrPadding
	for i, l := range lines {
		if w := f.GetStringWidth(l); w > room {
			return postal.InvalidAddress("line %d is %.0f mm wide, the window leaves %.0f mm", i+1, w, room)
		}
	}
	if h := addrFont*ptToMM + float64(len(lines)-1)*addrLineH; h > b.layout.WindowRect.H-2*addrPadding+addrFont*ptToMM {
		return postal.InvalidAddress("%d lines do not fit the window height", len(lines))
	}
	return nil
}

// spoolInsert stores an insert once per run and content and returns its
// reference; an unreadable PDF is a permanent refusal.
func (b *Batcher) spoolInsert(runDir, run string, data []byte) (insertRef, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:12])
	key := run + "/" + hash
	if p, ok := b.inserts.Load(key); ok {
		return insertRef{Hash: hash, Pages: p.(int)}, nil
	}
	n, err := api.PageCount(bytes.NewReader(data), pdfConf())
	if err != nil || n < 1 {
		return insertRef{}, &postal.RefusalError{Reason: ReasonInvalidInsert, Detail: fmt.Sprintf("insert %s is not a readable PDF", hash)}
	}
	if err := writeAtomic(filepath.Join(runDir, "inserts"), hash+".pdf", data); err != nil {
		return insertRef{}, err
	}
	b.inserts.Store(key, n)
	return insertRef{Hash: hash, Pages: n}, nil
}

var disableConfigDir sync.Once

// pdfConf returns a pdfcpu configuration that does not read or create a
// configuration directory in the user's home.
func pdfConf() *model.Configuration {
	disableConfigDir.Do(api.DisableConfigDir)
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	return c
}

// runKey is the spool directory name of m's run.
func runKey(m *channel.Message) string {
	r := m.RunID
	if r == "" {
		r = m.Campaign
	}
	if r = safeName(r); r == "" {
		r = "default"
	}
	return r
}

// safeName keeps the characters that are safe in a file name on every
// system and replaces the others, so ids never escape the spool directory.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), ".")
}

// sortKey orders letters for the print shop: France first by postcode
// (La Poste's presort discounts follow postcodes), then other countries.
func sortKey(l *letter) string {
	pc := strings.ToUpper(safeName(l.Postcode))
	if len(pc) < 10 {
		pc += strings.Repeat("0", 10-len(pc))
	}
	if l.Country == "FR" {
		return "0FR-" + pc
	}
	return "1" + safeName(l.Country) + "-" + pc
}

// writeAtomic writes data to dir/name through a temporary file and a
// rename, so Assemble never reads half a letter.
func writeAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("print: spool: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("print: spool: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("print: spool: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("print: spool: %w", err)
	}
	return nil
}
