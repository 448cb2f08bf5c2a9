package twiliohook_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/twiliohook"
)

var secret = []byte("test-secret-0123456789abcdef")

// testStore is a backend as the sink and the tests use it.
type testStore interface {
	twiliohook.Store
	store.Store
	policy.Lookup
}

var _ testStore = (*sqlstore.Store)(nil)

// backends are the store backends every sink test runs on; each call of
// open returns a new, empty store.
var backends = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"sqlite", func(t *testing.T) testStore {
		t.Helper()
		s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "relais.db"))
		if err != nil {
			t.Fatalf("sqlite: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) testStore {
		t.Helper()
		s, err := sqlstore.OpenPostgres(t.Context(), testenv.PostgresURL(t))
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// fixture is a store with contacts and accepted SMS/MMS/email ledger rows.
type fixture struct {
	st   testStore
	sink *twiliohook.Sink
	run  store.Run
	now  time.Time
}

func newFixture(t *testing.T, st testStore) *fixture {
	t.Helper()
	run, _, err := st.CreateRun(t.Context(), store.Run{CampaignID: "promo", RunKey: "k", ContentHash: "h", State: store.RunSending})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	now := time.Date(2027, 3, 20, 10, 0, 0, 0, time.UTC)
	sink := twiliohook.New(st, secret, nil)
	sink.Now = func() time.Time { return now }
	return &fixture{st: st, sink: sink, run: run, now: now}
}

// contact stores a person with phone and returns its id.
func (f *fixture) contact(t *testing.T, ext, phone string) int64 {
	t.Helper()
	c := &contact.Contact{ExternalID: ext, Phone: phone, Kind: contact.KindPerson}
	if _, _, err := f.st.UpsertContacts(t.Context(), []*contact.Contact{c}); err != nil {
		t.Fatalf("UpsertContacts: %v", err)
	}
	return c.ID
}

// sent records an accepted send of step on ch to contactID with provider
// id sid, created age before now.
func (f *fixture) sent(t *testing.T, step, ch string, contactID int64, sid string, age time.Duration) store.LedgerRow {
	t.Helper()
	row := store.LedgerRow{
		ID: store.LedgerID(f.run.ID, step, contactID, ch), RunID: f.run.ID, CampaignID: f.run.CampaignID,
		StepID: step, ContactID: contactID, Channel: ch, Purpose: "marketing", State: store.Accepted,
		ProviderID: sid, CreatedAt: f.now.Add(-age), UpdatedAt: f.now.Add(-age),
	}
	if _, err := f.st.InsertLedger(t.Context(), []store.LedgerRow{row}); err != nil {
		t.Fatalf("InsertLedger: %v", err)
	}
	return row
}

func (f *fixture) ledger(t *testing.T, id string) store.LedgerRow {
	t.Helper()
	row, err := f.st.GetLedger(t.Context(), id)
	if err != nil {
		t.Fatalf("GetLedger: %v", err)
	}
	return row
}

// events returns the run's events by type.
func (f *fixture) events(t *testing.T) map[string][]store.Event {
	t.Helper()
	evs, err := f.st.ListEvents(t.Context(), store.EventFilter{RunID: f.run.ID})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	out := map[string][]store.Event{}
	for _, e := range evs {
		out[e.Type] = append(out[e.Type], e)
	}
	return out
}

// suppression returns the suppression reason of phone ("" when none).
func (f *fixture) suppression(t *testing.T, phone string) string {
	t.Helper()
	ok, reason, err := f.st.Suppressed(t.Context(), contact.SuppressionKey(secret, contact.AddrPhone, phone))
	if err != nil {
		t.Fatalf("Suppressed: %v", err)
	}
	if !ok {
		return ""
	}
	return reason
}
