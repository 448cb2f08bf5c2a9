package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// testClaimAndSettle checks the batched ledger writes: one claim of
// claimable rows only, then one settle per target state.
func testClaimAndSettle(t *testing.T, s store.Store) {
	r := newRun(t, s, "c", "k")
	rows := ledgerRows(r, "s1", "email", "marketing", 6)
	insertLedger(t, s, rows)
	transition(t, s, rows[1].ID, []store.State{store.Planned}, store.Deferred, store.Change{})
	transition(t, s, rows[2].ID, []store.State{store.Planned}, store.Claimed, store.Change{AddAttempt: true})
	transition(t, s, rows[3].ID, []store.State{store.Planned}, store.Submitting, store.Change{})
	transition(t, s, rows[4].ID, []store.State{store.Planned}, store.Accepted, store.Change{})
	ids := []string{rows[0].ID, rows[1].ID, rows[2].ID, rows[3].ID, rows[4].ID, rows[5].ID, "no-such-row"}
	got, err := s.ClaimLedger(ctx(t), ids)
	if err != nil {
		t.Fatalf("ClaimLedger: %v", err)
	}
	var claimed []string
	for _, l := range got {
		claimed = append(claimed, l.ID)
		if l.State != store.Claimed || l.RunID != r.ID || l.StepID != "s1" || l.ContactID == 0 || !recent(l.UpdatedAt) {
			t.Errorf("claimed row %+v", l)
		}
		want := 1
		if l.ID == rows[2].ID {
			want = 2
		}
		if l.Attempts != want {
			t.Errorf("row %s: %d attempts, want %d", l.ID, l.Attempts, want)
		}
	}
	slices.Sort(claimed)
	want := []string{rows[0].ID, rows[1].ID, rows[2].ID, rows[5].ID}
	slices.Sort(want)
	diff(t, "claimed ids", claimed, want)
	if l := getLedger(t, s, rows[3].ID); l.State != store.Submitting {
		t.Errorf("submitting row claimed: %s", l.State)
	}
	if l := getLedger(t, s, rows[4].ID); l.State != store.Accepted {
		t.Errorf("accepted row claimed: %s", l.State)
	}

	// One statement moves the rows still in a from state, each with its
	// own change; the submitting row, absent from from, stays.
	outs := []store.Outcome{
		{ID: rows[0].ID, Change: store.Change{ProviderID: "p0@x", Segments: 2}},
		{ID: rows[1].ID, Change: store.Change{ProviderID: "p1@x"}},
		{ID: rows[3].ID, Change: store.Change{ProviderID: "p3@x"}},
	}
	moved, err := s.Settle(ctx(t), []store.State{store.Claimed}, store.Accepted, outs)
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	slices.Sort(moved)
	want = []string{rows[0].ID, rows[1].ID}
	slices.Sort(want)
	diff(t, "settled ids", moved, want)
	if l := getLedger(t, s, rows[0].ID); l.State != store.Accepted || l.ProviderID != "p0@x" || l.Segments != 2 || l.Reason != "" {
		t.Errorf("accepted row = %+v", l)
	}
	if l := getLedger(t, s, rows[3].ID); l.State != store.Submitting || l.ProviderID != "" {
		t.Errorf("row not in from = %+v", l)
	}
	// Reasons and errors per row; an empty field keeps the stored value.
	moved, err = s.Settle(ctx(t), []store.State{store.Claimed}, store.Refused, []store.Outcome{
		{ID: rows[2].ID, Change: store.Change{Reason: "opted_out", Error: "import"}},
		{ID: rows[5].ID, Change: store.Change{Reason: "frequency_cap"}},
	})
	if err != nil || len(moved) != 2 {
		t.Fatalf("Settle refused = %v, %v", moved, err)
	}
	if l := getLedger(t, s, rows[2].ID); l.State != store.Refused || l.Reason != "opted_out" || l.Error != "import" || l.Attempts != 2 {
		t.Errorf("refused row = %+v", l)
	}
	if l := getLedger(t, s, rows[5].ID); l.State != store.Refused || l.Reason != "frequency_cap" || l.Error != "" {
		t.Errorf("refused row = %+v", l)
	}
	if moved, err := s.Settle(ctx(t), []store.State{store.Claimed}, store.Failed, nil); err != nil || len(moved) != 0 {
		t.Errorf("Settle of nothing = %v, %v", moved, err)
	}

	// SettleAll: several transitions in one transaction, each answered
	// with its own moved ids; an empty settlement answers nil.
	more := ledgerRows(r, "s2", "email", "marketing", 3)
	insertLedger(t, s, more)
	for _, l := range more[:2] {
		transition(t, s, l.ID, []store.State{store.Planned}, store.Claimed, store.Change{AddAttempt: true})
	}
	all, err := s.SettleAll(ctx(t), []store.Settlement{
		{From: []store.State{store.Submitting}, To: store.Accepted, Outs: []store.Outcome{
			{ID: rows[3].ID, Change: store.Change{ProviderID: "p3@x"}},
			{ID: rows[4].ID, Change: store.Change{ProviderID: "p4@x"}}, // already accepted: stays
		}},
		{From: []store.State{store.Claimed}, To: store.Submitting},
		{From: []store.State{store.Claimed}, To: store.Submitting, Outs: []store.Outcome{
			{ID: more[0].ID}, {ID: more[1].ID}, {ID: more[2].ID}, // more[2] is planned: stays
		}},
	})
	if err != nil {
		t.Fatalf("SettleAll: %v", err)
	}
	if len(all) != 3 {
		t.Fatalf("SettleAll answered %d settlements, want 3", len(all))
	}
	diff(t, "SettleAll first", all[0], []string{rows[3].ID})
	if len(all[1]) != 0 {
		t.Errorf("SettleAll of an empty settlement moved %v", all[1])
	}
	slices.Sort(all[2])
	want = []string{more[0].ID, more[1].ID}
	slices.Sort(want)
	diff(t, "SettleAll third", all[2], want)
	if l := getLedger(t, s, rows[3].ID); l.State != store.Accepted || l.ProviderID != "p3@x" {
		t.Errorf("row settled by SettleAll = %+v", l)
	}
	if l := getLedger(t, s, rows[4].ID); l.ProviderID != "" {
		t.Errorf("row not in from got a provider id: %+v", l)
	}
	if l := getLedger(t, s, more[2].ID); l.State != store.Planned {
		t.Errorf("planned row moved by SettleAll: %s", l.State)
	}
}

// testBatchLookups checks that the batched policy lookups answer for
// each contact exactly what the single lookups answer.
func testBatchLookups(t *testing.T, s store.Store) {
	p := asPolicy(t, s)
	a := person("b-1", "a@example.org", "")
	a.Consent = map[string]*bool{"email": ptr(true)}
	b := person("b-2", "b@example.org", "")
	b.Consent = map[string]*bool{"email": ptr(true)}
	c := person("b-3", "c@example.org", "")
	upsert(t, s, a, b, c)
	if err := p.SetConsent(ctx(t), b.ID, "email", "marketing", contact.ConsentState{Status: contact.Refused, Source: "unsubscribe"}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetConsent(ctx(t), c.ID, "email", "open_tracking", contact.ConsentState{Status: contact.Granted, Source: "form"}); err != nil {
		t.Fatal(err)
	}
	ids := []int64{a.ID, b.ID, c.ID, c.ID + 99}
	for _, purpose := range []string{"marketing", "open_tracking"} {
		got, err := s.Consents(ctx(t), ids, "email", purpose)
		if err != nil {
			t.Fatalf("Consents: %v", err)
		}
		for _, id := range ids {
			one, err := s.Consent(ctx(t), id, "email", purpose)
			if err != nil {
				t.Fatal(err)
			}
			g := got[id]
			if g.Status != one.Status || g.Source != one.Source || g.Text != one.Text || !g.At.Equal(one.At) {
				t.Errorf("%s of contact %d: batch %+v, single %+v", purpose, id, g, one)
			}
		}
	}
	if got, _ := s.Consents(ctx(t), ids, "email", "marketing"); got[a.ID].Status != contact.Granted || got[b.ID].Status != contact.Refused ||
		got[c.ID].Status != contact.Unknown {
		t.Errorf("Consents = %+v", got)
	}

	for _, k := range []struct{ key, reason string }{{"k1", "opted_out"}, {"k1", "hard_bounce"}, {"k2", "manual"}} {
		if err := s.Suppress(ctx(t), k.key, k.reason); err != nil {
			t.Fatal(err)
		}
	}
	sup, err := s.SuppressedKeys(ctx(t), []string{"k1", "k2", "k3"})
	if err != nil {
		t.Fatalf("SuppressedKeys: %v", err)
	}
	diff(t, "SuppressedKeys", sup, map[string]string{"k1": "hard_bounce", "k2": "manual"})
	for _, k := range []string{"k1", "k2", "k3"} {
		ok, why, err := s.Suppressed(ctx(t), k)
		if err != nil || ok != (sup[k] != "") || why != sup[k] {
			t.Errorf("key %s: single %v %q %v, batch %q", k, ok, why, err, sup[k])
		}
	}

	r := newRun(t, s, "c", "k")
	rows := []store.LedgerRow{
		{RunID: r.ID, CampaignID: "c", StepID: "a", ContactID: a.ID, Channel: "email", Purpose: "marketing"},
		{RunID: r.ID, CampaignID: "c", StepID: "b", ContactID: a.ID, Channel: "sms", Purpose: "marketing"},
		{RunID: r.ID, CampaignID: "c", StepID: "c", ContactID: a.ID, Channel: "email", Purpose: "transactional"},
		{RunID: r.ID, CampaignID: "c", StepID: "a", ContactID: b.ID, Channel: "email", Purpose: "marketing"},
		{RunID: r.ID, CampaignID: "c", StepID: "b", ContactID: b.ID, Channel: "email", Purpose: "marketing"},
	}
	for i := range rows {
		rows[i].ID = store.LedgerID(rows[i].RunID, rows[i].StepID, rows[i].ContactID, rows[i].Channel)
	}
	insertLedger(t, s, rows)
	for i, to := range []store.State{store.Accepted, store.Delivered, store.Accepted, store.Submitting, store.Refused} {
		transition(t, s, rows[i].ID, []store.State{store.Planned}, to, store.Change{})
	}
	since := time.Now().Add(-time.Hour)
	counts, err := s.MarketingSentSinceMany(ctx(t), ids, since)
	if err != nil {
		t.Fatalf("MarketingSentSinceMany: %v", err)
	}
	diff(t, "MarketingSentSinceMany", counts, map[int64]int{a.ID: 2, b.ID: 1})
	if counts, err := s.MarketingSentSinceMany(ctx(t), ids, time.Now().Add(time.Hour)); err != nil || len(counts) != 0 {
		t.Errorf("MarketingSentSinceMany after now = %v, %v", counts, err)
	}
}
