package storetest

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// RunAPI runs the conformance cases of store.APIStore (API keys,
// idempotency keys, ledger payloads, contact and last-touch lookups,
// dashboard sessions); the
// stores open returns must implement it.
func RunAPI(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store, a store.APIStore)
	}{
		{"APIKeys", testAPIKeys},
		{"IdempotencyClaim", testIdempotencyClaim},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyStale", testIdempotencyStale},
		{"LedgerPayload", testLedgerPayload},
		{"ResolveExternalID", testResolveExternalID},
		{"LastTouch", testLastTouch},
		{"Sessions", testSessions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			a, ok := s.(store.APIStore)
			if !ok {
				t.Fatalf("%T does not implement store.APIStore", s)
			}
			tc.fn(t, s, a)
		})
	}
}

func testAPIKeys(t *testing.T, _ store.Store, a store.APIStore) {
	c := ctx(t)
	t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	k1 := store.APIKey{ID: "k1", Name: "shop", Hash: bytes.Repeat([]byte{1}, 32), Scopes: []string{"send", "events"}, CreatedAt: t0}
	k2 := store.APIKey{ID: "k2", Name: "crm", Hash: bytes.Repeat([]byte{2}, 32), Scopes: []string{"contacts"}, CreatedAt: t0.Add(time.Hour)}
	for _, k := range []store.APIKey{k2, k1} {
		if err := a.CreateAPIKey(c, k); err != nil {
			t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
		}
	}
	if err := a.CreateAPIKey(c, store.APIKey{ID: "k1", Name: "again", Hash: []byte{9}}); !errors.Is(err, store.ErrAPIKeyExists) {
		t.Errorf("CreateAPIKey with a taken id = %v, want ErrAPIKeyExists", err)
	}
	got, err := a.GetAPIKey(c, "k1")
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	if !reflect.DeepEqual(got, k1) {
		t.Errorf("GetAPIKey = %+v, want %+v", got, k1)
	}
	if _, err := a.GetAPIKey(c, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAPIKey(missing) = %v, want ErrNotFound", err)
	}
	list, err := a.ListAPIKeys(c)
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	if len(list) != 2 || list[0].ID != "k1" || list[1].ID != "k2" {
		t.Errorf("ListAPIKeys = %+v, want k1 then k2 (oldest first)", list)
	}
	rev := t0.Add(2 * time.Hour)
	if err := a.RevokeAPIKey(c, "k1", rev); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if err := a.RevokeAPIKey(c, "k1", rev.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeAPIKey again: %v", err)
	}
	if got, _ := a.GetAPIKey(c, "k1"); !got.RevokedAt.Equal(rev) {
		t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, rev)
	}
	if got, _ := a.GetAPIKey(c, "k2"); !got.RevokedAt.IsZero() {
		t.Errorf("k2 RevokedAt = %v, want zero", got.RevokedAt)
	}
	if err := a.RevokeAPIKey(c, "nope", time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAPIKey(missing) = %v, want ErrNotFound", err)
	}
}

func testIdempotencyClaim(t *testing.T, _ store.Store, a store.APIStore) {
	c := ctx(t)
	rec := store.Idempotency{Scope: "send:welcome", Key: "k-1", RequestHash: "h1"}
	far := time.Now().Add(-time.Hour) // nothing is stale
	got, owned, err := a.ClaimIdempotency(c, rec, far)
	if err != nil || !owned {
		t.Fatalf("first ClaimIdempotency = %v, %v; want owned", owned, err)
	}
	if got.Status != 0 || got.ClaimedAt.IsZero() {
		t.Errorf("first claim = %+v, want status 0 and a claim time", got)
	}
	tests := []struct {
		name      string
		rec       store.Idempotency
		wantOwned bool
		wantHash  string
	}{
		{"same key in progress", rec, false, "h1"},
		{"same key other body", store.Idempotency{Scope: rec.Scope, Key: rec.Key, RequestHash: "h2"}, false, "h1"},
		{"same key other scope", store.Idempotency{Scope: "send:other", Key: rec.Key, RequestHash: "h2"}, true, "h2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, owned, err := a.ClaimIdempotency(c, tc.rec, far)
			if err != nil {
				t.Fatalf("ClaimIdempotency: %v", err)
			}
			if owned != tc.wantOwned || got.RequestHash != tc.wantHash {
				t.Errorf("ClaimIdempotency = owned %v hash %q, want %v %q", owned, got.RequestHash, tc.wantOwned, tc.wantHash)
			}
		})
	}
	body := []byte(`{"ledger_id":"x"}`)
	if err := a.CompleteIdempotency(c, rec.Scope, rec.Key, 202, body); err != nil {
		t.Fatalf("CompleteIdempotency: %v", err)
	}
	got, owned, err = a.ClaimIdempotency(c, rec, time.Now().Add(time.Hour)) // even "stale", a finished key replays
	if err != nil || owned {
		t.Fatalf("ClaimIdempotency after completion = %v, %v; want not owned", owned, err)
	}
	if got.Status != 202 || !bytes.Equal(got.Response, body) {
		t.Errorf("replayed record = %d %q, want 202 %q", got.Status, got.Response, body)
	}
	if err := a.CompleteIdempotency(c, "send:nope", "k", 202, body); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CompleteIdempotency(missing) = %v, want ErrNotFound", err)
	}
	// Release deletes only unfinished records.
	if err := a.ReleaseIdempotency(c, rec.Scope, rec.Key); err != nil {
		t.Fatalf("ReleaseIdempotency: %v", err)
	}
	if got, _, _ := a.ClaimIdempotency(c, rec, far); got.Status != 202 {
		t.Errorf("a finished record was released: %+v", got)
	}
	other := store.Idempotency{Scope: "send:other", Key: rec.Key, RequestHash: "h2"}
	if err := a.ReleaseIdempotency(c, other.Scope, other.Key); err != nil {
		t.Fatalf("ReleaseIdempotency: %v", err)
	}
	if _, owned, err := a.ClaimIdempotency(c, store.Idempotency{Scope: other.Scope, Key: other.Key, RequestHash: "h3"}, far); err != nil || !owned {
		t.Errorf("claim after release = %v, %v; want owned with the new body", owned, err)
	}
}

// testIdempotencyConcurrent claims one key from many goroutines: exactly
// one may own it, whatever the interleaving.
func testIdempotencyConcurrent(t *testing.T, _ store.Store, a store.APIStore) {
	const n = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		owned int
		errs  []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, ok, err := a.ClaimIdempotency(ctx(t), store.Idempotency{Scope: "send:c", Key: "same", RequestHash: "h"}, time.Now().Add(-time.Hour))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				owned++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("ClaimIdempotency errors: %v", errs)
	}
	if owned != 1 {
		t.Errorf("%d concurrent claims owned the key, want exactly 1", owned)
	}
}

// testIdempotencyStale takes over a claim whose owner stopped: only with
// the same body, and only one of two concurrent takers wins.
func testIdempotencyStale(t *testing.T, _ store.Store, a store.APIStore) {
	c := ctx(t)
	rec := store.Idempotency{Scope: "send:c", Key: "k", RequestHash: "h"}
	first, owned, err := a.ClaimIdempotency(c, rec, time.Now().Add(-time.Hour))
	if err != nil || !owned {
		t.Fatalf("ClaimIdempotency = %v, %v", owned, err)
	}
	// Stale means claimed before staleBefore: the first claim is, a
	// takeover made after the pause is not, so takers cannot chain.
	time.Sleep(5 * time.Millisecond)
	future := first.ClaimedAt.Add(time.Microsecond)
	if _, owned, _ := a.ClaimIdempotency(c, store.Idempotency{Scope: rec.Scope, Key: rec.Key, RequestHash: "other"}, future); owned {
		t.Error("a stale claim was taken over with another body")
	}
	var wg sync.WaitGroup
	results := make([]bool, 4)
	for i := range results {
		wg.Go(func() {
			_, ok, err := a.ClaimIdempotency(c, rec, future)
			if err != nil {
				t.Errorf("ClaimIdempotency: %v", err)
			}
			results[i] = ok
		})
	}
	wg.Wait()
	n := 0
	for _, ok := range results {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d takers owned the stale claim, want 1 (results %v)", n, results)
	}
}

func testLedgerPayload(t *testing.T, s store.Store, a store.APIStore) {
	c := ctx(t)
	r := newRun(t, s, "welcome", "api:k1")
	rows := ledgerRows(r, "confirm", "email", "transactional", 1)
	data := map[string]any{"order": "A-1", "total": 42.5, "items": int64(3), "lines": []any{map[string]any{"sku": "X", "qty": int64(2)}}}
	n, err := a.InsertLedgerPayload(c, rows, data)
	if err != nil || n != 1 {
		t.Fatalf("InsertLedgerPayload = %d, %v; want 1 new row", n, err)
	}
	if _, err := s.GetLedger(c, rows[0].ID); err != nil {
		t.Fatalf("GetLedger after InsertLedgerPayload: %v", err)
	}
	got, err := a.LedgerPayload(c, rows[0].ID)
	if err != nil {
		t.Fatalf("LedgerPayload: %v", err)
	}
	if !reflect.DeepEqual(got, data) {
		t.Errorf("LedgerPayload = %#v, want %#v", got, data)
	}
	// A replay neither adds a row nor replaces the first payload.
	n, err = a.InsertLedgerPayload(c, rows, map[string]any{"order": "B-2"})
	if err != nil || n != 0 {
		t.Fatalf("InsertLedgerPayload replay = %d, %v; want 0", n, err)
	}
	if got, _ := a.LedgerPayload(c, rows[0].ID); got["order"] != "A-1" {
		t.Errorf("payload after replay = %v, want the first one", got)
	}
	counts, err := s.CountLedger(c, r.ID)
	if err != nil || counts[string(store.Planned)] != 1 {
		t.Errorf("CountLedger = %v, %v; want 1 planned row", counts, err)
	}
	empty := ledgerRows(r, "other", "email", "transactional", 1)
	if _, err := a.InsertLedgerPayload(c, empty, nil); err != nil {
		t.Fatalf("InsertLedgerPayload(nil data): %v", err)
	}
	if got, err := a.LedgerPayload(c, empty[0].ID); err != nil || len(got) != 0 {
		t.Errorf("LedgerPayload(nil data) = %v, %v; want an empty map", got, err)
	}
	if _, err := a.LedgerPayload(c, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LedgerPayload(missing) = %v, want ErrNotFound", err)
	}
	// The rows of a batch in one read: those with data, by id; a row
	// without a payload (or unknown) is absent.
	plain := ledgerRows(r, "plain", "email", "transactional", 1)
	if _, err := s.InsertLedger(c, plain); err != nil {
		t.Fatal(err)
	}
	all, err := a.LedgerPayloads(c, []string{rows[0].ID, empty[0].ID, plain[0].ID, "missing"})
	want := map[string]map[string]any{rows[0].ID: data, empty[0].ID: {}}
	if err != nil || !reflect.DeepEqual(all, want) {
		t.Errorf("LedgerPayloads = %#v, %v; want %#v", all, err, want)
	}
	if all, err := a.LedgerPayloads(c, nil); err != nil || len(all) != 0 {
		t.Errorf("LedgerPayloads(nil) = %v, %v; want none", all, err)
	}
}

func testResolveExternalID(t *testing.T, s store.Store, a store.APIStore) {
	p := person("ext-7", "ana@example.org", "")
	upsert(t, s, p, &contact.Contact{Email: "noext@example.org"})
	id, err := a.ResolveExternalID(ctx(t), "ext-7")
	if err != nil || id != p.ID {
		t.Errorf("ResolveExternalID = %d, %v; want %d", id, err, p.ID)
	}
	if _, err := a.ResolveExternalID(ctx(t), "ext-8"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ResolveExternalID(missing) = %v, want ErrNotFound", err)
	}
}

func testLastTouch(t *testing.T, s store.Store, a store.APIStore) {
	c := ctx(t)
	base := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	r1 := newRun(t, s, "promo", "r1")
	r2 := newRun(t, s, "promo", "r2")
	other := newRun(t, s, "other", "r1")
	row := func(r store.Run, step string, at time.Time, st store.State) store.LedgerRow {
		return store.LedgerRow{ID: store.LedgerID(r.ID, step, 5, "email"), RunID: r.ID, CampaignID: r.CampaignID,
			StepID: step, ContactID: 5, Channel: "email", Purpose: "marketing", State: st, CreatedAt: at}
	}
	rows := []store.LedgerRow{
		row(r1, "s1", base, store.Delivered),
		row(r2, "s1", base.Add(48*time.Hour), store.Accepted),
		row(r2, "s2", base.Add(72*time.Hour), store.Refused), // never sent: not a touch
		row(other, "s1", base.Add(96*time.Hour), store.Delivered),
	}
	insertLedger(t, s, rows)
	tests := []struct {
		name     string
		campaign string
		since    time.Time
		want     string // ledger id, "" for ErrNotFound
	}{
		{"newest sent row", "promo", base.Add(-time.Hour), rows[1].ID},
		{"window excludes older", "promo", base.Add(49 * time.Hour), ""},
		{"other campaign", "other", base, rows[3].ID},
		{"unknown campaign", "nope", base, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.LastTouch(c, 5, tc.campaign, tc.since)
			if tc.want == "" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("LastTouch = %+v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got.ID != tc.want {
				t.Errorf("LastTouch = %s, %v; want %s", got.ID, err, tc.want)
			}
		})
	}
}
