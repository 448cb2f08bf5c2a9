// Package storetest is the conformance suite every store.Store backend
// passes: the SQLite and PostgreSQL tests call Run with their own opener,
// so both backends are held to the same observable behaviour.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Opener returns a new, empty store for one subtest; it registers the
// store's closing (and the database's removal) with t.Cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite; each subtest gets its own empty store.
// Run it with -race: several subtests check concurrent writers.
func Run(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"UpsertInsertAndMatch", testUpsertMatch},
		{"UpsertMerge", testUpsertMerge},
		{"ContactRoundTrip", testContactRoundTrip},
		{"ContactLookups", testContactLookups},
		{"ScanContacts", testScanContacts},
		{"Runs", testRuns},
		{"LedgerInsert", testLedgerInsert},
		{"Transitions", testTransitions},
		{"ConcurrentClaim", testConcurrentClaim},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CountLedger", testCountLedger},
		{"ListLedger", testListLedger},
		{"MarketingSentSince", testMarketingSentSince},
		{"Suppressions", testSuppressions},
		{"Consent", testConsent},
		{"ClaimAndSettle", testClaimAndSettle},
		{"BatchLookups", testBatchLookups},
		{"BatchLookupsExact", testBatchLookupsExact},
		{"ChannelPauses", testChannelPauses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

func ptr(b bool) *bool { return &b }

// person returns a contact the way the importer leaves one, with
// EmailNorm from contact.NormalizeEmail.
func person(ext, email, phone string) *contact.Contact {
	c := &contact.Contact{ExternalID: ext, Email: email, Phone: phone, Kind: contact.KindPerson}
	c.EmailNorm, _ = contact.NormalizeEmail(email)
	return c
}

func upsert(t *testing.T, s store.Store, cs ...*contact.Contact) (ins, upd int) {
	t.Helper()
	ins, upd, err := s.UpsertContacts(ctx(t), cs)
	if err != nil {
		t.Fatalf("UpsertContacts: %v", err)
	}
	for i, c := range cs {
		if c.ID == 0 {
			t.Fatalf("UpsertContacts left contact #%d without an ID", i)
		}
	}
	return ins, upd
}

func getContact(t *testing.T, s store.Store, id int64) *contact.Contact {
	t.Helper()
	c, err := s.GetContact(ctx(t), id)
	if err != nil {
		t.Fatalf("GetContact(%d): %v", id, err)
	}
	return c
}

func newRun(t *testing.T, s store.Store, campaign, key string) store.Run {
	t.Helper()
	r, _, err := s.CreateRun(ctx(t), store.Run{CampaignID: campaign, RunKey: key, ContentHash: "h", State: store.RunExpanding})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return r
}

// ledgerRows returns n planned rows of run r for contacts 1..n on channel.
func ledgerRows(r store.Run, step, channel, purpose string, n int) []store.LedgerRow {
	rows := make([]store.LedgerRow, n)
	for i := range rows {
		cid := int64(i + 1)
		rows[i] = store.LedgerRow{
			ID: store.LedgerID(r.ID, step, cid, channel), RunID: r.ID, CampaignID: r.CampaignID,
			StepID: step, ContactID: cid, Channel: channel, Purpose: purpose, State: store.Planned,
		}
	}
	return rows
}

func insertLedger(t *testing.T, s store.Store, rows []store.LedgerRow) int {
	t.Helper()
	n, err := s.InsertLedger(ctx(t), rows)
	if err != nil {
		t.Fatalf("InsertLedger: %v", err)
	}
	return n
}

func getLedger(t *testing.T, s store.Store, id string) store.LedgerRow {
	t.Helper()
	l, err := s.GetLedger(ctx(t), id)
	if err != nil {
		t.Fatalf("GetLedger(%s): %v", id, err)
	}
	return l
}

func transition(t *testing.T, s store.Store, id string, from []store.State, to store.State, c store.Change) bool {
	t.Helper()
	ok, err := s.Transition(ctx(t), id, from, to, c)
	if err != nil {
		t.Fatalf("Transition(%s → %s): %v", id, to, err)
	}
	return ok
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %s, want %s", what, fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want))
	}
}

// recent reports whether ts is a UTC time within a minute of now: stores
// set timestamps themselves and must return them in UTC.
func recent(ts time.Time) bool {
	return ts.Location() == time.UTC && time.Since(ts).Abs() < time.Minute
}
