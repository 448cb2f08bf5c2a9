package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// testBatchLookupsExact checks each batch lookup against exact expected
// values, which are also what the one-at-a-time lookups answer.
func testBatchLookupsExact(t *testing.T, s store.Store) {
	p := s
	t.Run("SuppressedKeys", func(t *testing.T) {
		for _, add := range [][2]string{{"b1", contact.SuppressOptedOut}, {"b2", contact.SuppressOptedOut}, {"b2", contact.SuppressHardBounce},
			{"b3", contact.SuppressManual}, {"b3", contact.SuppressErased}} {
			if err := p.Suppress(ctx(t), add[0], add[1]); err != nil {
				t.Fatal(err)
			}
		}
		// More keys than one query takes, so the chunks are exercised.
		keys := []string{"b0", "b1", "b2", "b3"}
		for i := range 1500 {
			keys = append(keys, fmt.Sprintf("absent-%d", i))
		}
		got, err := p.SuppressedKeys(ctx(t), keys)
		if err != nil {
			t.Fatalf("SuppressedKeys: %v", err)
		}
		want := map[string]string{"b1": contact.SuppressOptedOut, "b2": contact.SuppressHardBounce, "b3": contact.SuppressErased}
		if len(got) != len(want) {
			t.Errorf("SuppressedKeys = %v, want %v", got, want)
		}
		for k, why := range want {
			if got[k] != why {
				t.Errorf("SuppressedKeys[%s] = %q, want %q", k, got[k], why)
			}
			if ok, single, _ := p.Suppressed(ctx(t), k); !ok || single != why {
				t.Errorf("Suppressed(%s) = %v %q disagrees with the batch %q", k, ok, single, why)
			}
		}
	})
	t.Run("Consents", func(t *testing.T) {
		granted := person("bc-1", "bc1@example.org", "")
		granted.Consent = map[string]*bool{"email": ptr(true)}
		refused := person("bc-2", "bc2@example.org", "")
		refused.Consent = map[string]*bool{"email": ptr(false)}
		recorded := person("bc-3", "bc3@example.org", "")
		recorded.Consent = map[string]*bool{"email": ptr(true)}
		none := person("bc-4", "bc4@example.org", "")
		upsert(t, s, granted, refused, recorded, none)
		if err := p.SetConsent(ctx(t), recorded.ID, "email", contact.PurposeMarketing, contact.ConsentState{Status: contact.Refused, Source: "unsubscribe"}); err != nil {
			t.Fatal(err)
		}
		if err := p.SetConsent(ctx(t), none.ID, "email", contact.PurposeOpenTracking, contact.ConsentState{Status: contact.Granted, Source: "form"}); err != nil {
			t.Fatal(err)
		}
		missing := none.ID + 1000
		ids := []int64{granted.ID, refused.ID, recorded.ID, none.ID, missing}
		tests := []struct {
			purpose string
			want    map[int64][2]any // status, source
		}{
			{contact.PurposeMarketing, map[int64][2]any{granted.ID: {contact.Granted, contact.ImportSource}, refused.ID: {contact.Refused, contact.ImportSource},
				recorded.ID: {contact.Refused, "unsubscribe"}, none.ID: {contact.Unknown, ""}, missing: {contact.Unknown, ""}}},
			{contact.PurposeOpenTracking, map[int64][2]any{granted.ID: {contact.Unknown, ""}, refused.ID: {contact.Unknown, ""},
				recorded.ID: {contact.Unknown, ""}, none.ID: {contact.Granted, "form"}, missing: {contact.Unknown, ""}}},
		}
		for _, tc := range tests {
			got, err := p.Consents(ctx(t), ids, "email", tc.purpose)
			if err != nil {
				t.Fatalf("Consents(%s): %v", tc.purpose, err)
			}
			if len(got) != len(ids) {
				t.Errorf("Consents(%s) has %d entries, want %d", tc.purpose, len(got), len(ids))
			}
			for id, w := range tc.want {
				single, err := p.Consent(ctx(t), id, "email", tc.purpose)
				if err != nil {
					t.Fatal(err)
				}
				if got[id].Status != w[0] || got[id].Source != w[1] || single.Status != got[id].Status || single.Source != got[id].Source || !single.At.Equal(got[id].At) {
					t.Errorf("Consents(%s)[%d] = %+v, want %v %q (Consent says %+v)", tc.purpose, id, got[id], w[0], w[1], single)
				}
			}
		}
	})
	t.Run("MarketingSentSinceMany", func(t *testing.T) {
		r := newRun(t, s, "bm", "k")
		rows := []store.LedgerRow{
			{RunID: r.ID, CampaignID: "bm", StepID: "a", ContactID: 11, Channel: "email", Purpose: "marketing"},
			{RunID: r.ID, CampaignID: "bm", StepID: "b", ContactID: 11, Channel: "sms", Purpose: "marketing"},
			{RunID: r.ID, CampaignID: "bm", StepID: "c", ContactID: 11, Channel: "email", Purpose: "marketing"},
			{RunID: r.ID, CampaignID: "bm", StepID: "d", ContactID: 11, Channel: "email", Purpose: "transactional"},
			{RunID: r.ID, CampaignID: "bm", StepID: "a", ContactID: 12, Channel: "email", Purpose: "marketing"},
			{RunID: r.ID, CampaignID: "bm", StepID: "a", ContactID: 13, Channel: "email", Purpose: "marketing"},
		}
		for i := range rows {
			rows[i].ID = store.LedgerID(rows[i].RunID, rows[i].StepID, rows[i].ContactID, rows[i].Channel)
		}
		insertLedger(t, s, rows)
		for i, to := range map[int]store.State{0: store.Accepted, 1: store.Delivered, 2: store.Refused, 3: store.Accepted, 5: store.Accepted} {
			transition(t, s, rows[i].ID, []store.State{store.Planned}, to, store.Change{})
		}
		ids := []int64{11, 12, 13, 14}
		for _, tc := range []struct {
			name  string
			since time.Time
			want  map[int64]int
		}{
			{"last week", time.Now().Add(-7 * 24 * time.Hour), map[int64]int{11: 2, 13: 1}},
			{"from a future instant", time.Now().Add(time.Hour), map[int64]int{}},
		} {
			got, err := p.MarketingSentSinceMany(ctx(t), ids, tc.since)
			if err != nil {
				t.Fatalf("%s: MarketingSentSinceMany: %v", tc.name, err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("%s: MarketingSentSinceMany = %v, want %v", tc.name, got, tc.want)
			}
			for _, id := range ids {
				single, err := p.MarketingSentSince(ctx(t), id, tc.since)
				if err != nil {
					t.Fatal(err)
				}
				if got[id] != tc.want[id] || single != got[id] {
					t.Errorf("%s: contact %d: batch %d, want %d, MarketingSentSince %d", tc.name, id, got[id], tc.want[id], single)
				}
			}
		}
	})
}
