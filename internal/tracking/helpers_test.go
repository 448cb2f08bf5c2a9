package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// personContact is a contact whose every identifying field must stay out
// of tokens and URLs.
func personContact() *contact.Contact {
	return &contact.Contact{ID: 77, ExternalID: "CRM-0042", FirstName: "Élodie", LastName: "Martinaud",
		Email: "Elodie.Martinaud@example.fr", EmailNorm: "elodie.martinaud@example.fr", Phone: "+33612345678",
		Address: contact.Address{Line1: "12 rue des Tilleuls", Postcode: "69003", City: "LYON"}, Locale: "fr-FR"}
}

// memSink keeps recorded events in memory for assertions.
type memSink struct {
	mu      sync.Mutex
	batches [][]Event
	fail    int // fail this many Record calls first
}

func (s *memSink) Record(_ context.Context, evs []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("sink down")
	}
	s.batches = append(s.batches, slices.Clone(evs))
	return nil
}

func (s *memSink) events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []Event
	for _, b := range s.batches {
		all = append(all, b...)
	}
	return all
}

func (s *memSink) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n []int
	for _, b := range s.batches {
		n = append(n, len(b))
	}
	return n
}

// sqliteSink persists events into a real SQLite database, as the store
// will, so benchmarks measure the pixel with events persisted.
type sqliteSink struct{ db *sql.DB }

func newSQLiteSink(t testing.TB) *sqliteSink {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "events.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE events (ledger_id TEXT NOT NULL, type TEXT NOT NULL, machine INTEGER NOT NULL, url TEXT, at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &sqliteSink{db: db}
}

func (s *sqliteSink) Record(ctx context.Context, evs []Event) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO events (ledger_id, type, machine, url, at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if _, err := st.ExecContext(ctx, e.LedgerID, e.Type, e.Machine, e.URL, e.At.UnixMilli()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteSink) count(t testing.TB) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// unsubs records Unsubscribe calls.
type unsubs struct {
	mu    sync.Mutex
	calls []string // ledger id + " " + source
	err   error
}

func (u *unsubs) Unsubscribe(_ context.Context, c Claims, source string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	u.calls = append(u.calls, c.LedgerID+" "+source)
	return nil
}

// views renders stored HTML per ledger id.
type views map[string]string

func (v views) View(_ context.Context, id string) (string, error) {
	h, ok := v[id]
	if !ok {
		return "", fmt.Errorf("ledger %s: %w", id, store.ErrNotFound)
	}
	return h, nil
}

// responses maps response codes to ledger ids and records responses.
type responses struct {
	mu    sync.Mutex
	codes map[string]string
	got   []string
}

func (r *responses) Respond(_ context.Context, code string, _ time.Time) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.codes[code]
	if !ok {
		return "", store.ErrNotFound
	}
	r.got = append(r.got, id)
	return id, nil
}

func sampleRow() *store.LedgerRow {
	return &store.LedgerRow{ID: store.LedgerID(3, "s1", 77, "email"), RunID: 3, ContactID: 77, CampaignID: "c1", StepID: "s1", Channel: "email", Purpose: "marketing"}
}

func emailMessage(html, text string) *channel.Message {
	return &channel.Message{Channel: emailch.Name, HTML: html, Text: text}
}
