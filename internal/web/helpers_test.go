package web_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/web"
)

// testKey is the one API key the tests' checker accepts.
const testKey = "rk_test_0123456789"

// errBrokenKey makes the checker fail as a store outage would.
const brokenKey = "rk_broken"

// adminKey signs in with the admin scope; runsKey with reports and runs.
const (
	adminKey = "rk_admin_0123456789"
	runsKey  = "rk_runs_0123456789"
)

// identities are the keys the tests' checker knows, by key id.
var identities = map[string]web.Identity{
	"test":  {KeyID: "test", Name: "reporting", Scopes: []string{"reports"}},
	"runs":  {KeyID: "runs", Name: "operations", Scopes: []string{"reports", "runs"}},
	"admin": {KeyID: "admin", Name: "root", Scopes: []string{"admin"}},
}

func checkKey(_ context.Context, key string) (web.Identity, bool, error) {
	switch key {
	case brokenKey:
		return web.Identity{}, false, errors.New("api key store unavailable")
	case testKey:
		return identities["test"], true, nil
	case runsKey:
		return identities["runs"], true, nil
	case adminKey:
		return identities["admin"], true, nil
	}
	return web.Identity{}, false, nil
}

// lookupKey finds the identity of a key id, as the store would.
func lookupKey(_ context.Context, id string) (web.Identity, bool, error) {
	i, ok := identities[id]
	return i, ok, nil
}

// seededStore returns a SQLite store holding one run of the example
// campaign printemps-2027: 7 recipients, 5 emails accepted, 2 refused
// (no_consent, opted_out); 2 human opens on 2 messages plus a machine
// open, 1 click, 1 conversion of 12.50 €.
func seededStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	ctx := t.Context()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r, _, err := s.CreateRun(ctx, store.Run{CampaignID: "printemps-2027", RunKey: "k", ContentHash: "h", State: store.RunDone, Planned: 7})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 3, 20, 9, 5, 0, 0, time.UTC)
	var rows []store.LedgerRow
	for i := range 7 {
		row := store.LedgerRow{RunID: r.ID, CampaignID: "printemps-2027", StepID: "annonce", ContactID: int64(i + 1),
			Channel: "email", Purpose: "marketing", State: store.Accepted, CreatedAt: at, UpdatedAt: at.Add(time.Duration(i) * 20 * time.Minute)}
		row.ID = store.LedgerID(row.RunID, row.StepID, row.ContactID, row.Channel)
		switch i {
		case 5:
			row.State, row.Reason = store.Refused, "no_consent"
		case 6:
			row.State, row.Reason = store.Refused, "opted_out"
		}
		rows = append(rows, row)
	}
	if _, err := s.InsertLedger(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvents(ctx, []store.Event{
		{LedgerID: rows[0].ID, Type: store.EventOpened, At: at.Add(time.Hour)},
		{LedgerID: rows[0].ID, Type: store.EventOpened, At: at.Add(2 * time.Hour)},
		{LedgerID: rows[1].ID, Type: store.EventOpened, At: at.Add(2 * time.Hour)},
		{LedgerID: rows[2].ID, Type: store.EventOpened, Machine: true, At: at},
		{LedgerID: rows[0].ID, Type: store.EventClicked, URL: "https://dupont.example/", At: at.Add(2 * time.Hour)},
		{LedgerID: rows[0].ID, Type: store.EventConverted, Value: 12.5, Currency: "EUR", At: at.Add(3 * time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// exampleCatalog loads the repository's campaigns folder, which holds
// printemps-2027 with its cost: block (email 0.001 €).
func exampleCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	t.Chdir(filepath.Join("..", "..")) // campaign paths are relative to the repository root
	c := catalog.New("campaigns")
	if errs := c.Reload(); len(errs) > 0 {
		t.Fatalf("load campaigns: %v", errs)
	}
	if c.Live("printemps-2027") == nil {
		t.Fatal("campaigns/printemps-2027.yaml not loaded")
	}
	return c
}

func newServer(t *testing.T, d web.Deps) *web.Server {
	t.Helper()
	if d.CheckKey == nil {
		d.CheckKey = checkKey
	}
	if d.LookupKey == nil {
		d.LookupKey = lookupKey
	}
	if d.Secret == nil {
		d.Secret = []byte("dashboard-test-secret")
	}
	s, err := web.New(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
