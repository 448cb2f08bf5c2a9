package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

func testRuns(t *testing.T, s store.Store) {
	first, created, err := s.CreateRun(ctx(t), store.Run{CampaignID: "promo", RunKey: "2025-06-01", ContentHash: "abc", DryRun: true})
	if err != nil || !created {
		t.Fatalf("CreateRun: created %v err %v", created, err)
	}
	if first.ID == 0 || first.State != store.RunExpanding || !first.DryRun || first.ContentHash != "abc" || !recent(first.CreatedAt) {
		t.Errorf("created run %+v", first)
	}
	again, created, err := s.CreateRun(ctx(t), store.Run{CampaignID: "promo", RunKey: "2025-06-01", ContentHash: "other"})
	if err != nil || created {
		t.Fatalf("CreateRun again: created %v err %v, want existing run", created, err)
	}
	diff(t, "existing run", again, first)
	other := newRun(t, s, "promo", "2025-06-08")
	third := newRun(t, s, "welcome", "2025-06-01")

	found, err := s.FindRun(ctx(t), "promo", "2025-06-08")
	if err != nil || found.ID != other.ID {
		t.Errorf("FindRun = %d, %v; want %d", found.ID, err, other.ID)
	}
	_, err = s.FindRun(ctx(t), "promo", "nope")
	wantNotFound(t, "FindRun(missing)", err)
	_, err = s.GetRun(ctx(t), third.ID+100)
	wantNotFound(t, "GetRun(missing)", err)
	wantNotFound(t, "SetRunState(missing)", s.SetRunState(ctx(t), third.ID+100, store.RunDone, 1))

	if err := s.SetRunState(ctx(t), first.ID, store.RunSending, 42); err != nil {
		t.Fatalf("SetRunState: %v", err)
	}
	got, err := s.GetRun(ctx(t), first.ID)
	if err != nil || got.State != store.RunSending || got.Planned != 42 || got.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("after SetRunState: %+v, %v", got, err)
	}

	tests := []struct {
		name     string
		campaign string
		limit    int
		want     []int64
	}{
		{"all, newest first", "", 0, []int64{third.ID, other.ID, first.ID}},
		{"one campaign", "promo", 10, []int64{other.ID, first.ID}},
		{"limited", "", 1, []int64{third.ID}},
		{"unknown campaign", "nope", 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx(t), tc.campaign, tc.limit)
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			var ids []int64
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			diff(t, "run ids", ids, tc.want)
		})
	}
}

func testLedgerInsert(t *testing.T, s store.Store) {
	r := newRun(t, s, "c", "k")
	rows := ledgerRows(r, "s1", "email", "marketing", 2500) // more than one chunk
	nb := time.Date(2030, 1, 2, 3, 4, 5, 600000000, time.UTC)
	rows[0].State, rows[0].NotBefore, rows[0].Segments = store.Deferred, nb, 2
	rows[1].ID = "" // derived by the store
	tests := []struct {
		name string
		rows []store.LedgerRow
		want int
	}{
		{"new rows", rows, 2500},
		{"re-insert adds nothing", rows, 0},
		{"partly new", append(rows[:10:10], ledgerRows(r, "s2", "email", "marketing", 5)...), 5},
		{"empty", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := insertLedger(t, s, tc.rows); got != tc.want {
				t.Errorf("InsertLedger = %d new rows, want %d", got, tc.want)
			}
		})
	}
	got := getLedger(t, s, rows[0].ID)
	want := rows[0]
	want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
	diff(t, "row 0", got, want)
	if !recent(got.CreatedAt) {
		t.Errorf("created_at %v: want a recent UTC time", got.CreatedAt)
	}
	derived := store.LedgerID(r.ID, "s1", rows[1].ContactID, "email")
	if l := getLedger(t, s, derived); l.ContactID != rows[1].ContactID {
		t.Errorf("row with derived id: %+v", l)
	}
	_, err := s.GetLedger(ctx(t), "nope")
	wantNotFound(t, "GetLedger(missing)", err)
}

func testTransitions(t *testing.T, s store.Store) {
	r := newRun(t, s, "c", "k")
	row := ledgerRows(r, "s1", "sms", "marketing", 1)[0]
	insertLedger(t, s, []store.LedgerRow{row})
	nb := time.Date(2031, 5, 6, 8, 0, 0, 0, time.UTC)
	P, C, S := []store.State{store.Planned, store.Deferred}, []store.State{store.Claimed}, []store.State{store.Submitting}
	tests := []struct {
		name   string
		from   []store.State
		to     store.State
		change store.Change
		moved  bool
		check  func(l store.LedgerRow) bool
	}{
		{"defer", P, store.Deferred, store.Change{NotBefore: nb}, true,
			func(l store.LedgerRow) bool { return l.NotBefore.Equal(nb) }},
		{"claim", P, store.Claimed, store.Change{}, true,
			func(l store.LedgerRow) bool { return l.NotBefore.Equal(nb) && l.Attempts == 0 }},
		{"claim again refused", P, store.Claimed, store.Change{}, false, nil},
		{"empty from moves nothing", nil, store.Refused, store.Change{}, false, nil},
		{"submit counts an attempt", C, store.Submitting, store.Change{AddAttempt: true}, true,
			func(l store.LedgerRow) bool { return l.Attempts == 1 }},
		{"accept with provider id", S, store.Accepted, store.Change{ProviderID: "SM123", Segments: 2}, true,
			func(l store.LedgerRow) bool { return l.ProviderID == "SM123" && l.Segments == 2 && l.Attempts == 1 }},
		{"refuse after accept refused", P, store.Refused, store.Change{Reason: "no_consent"}, false,
			func(l store.LedgerRow) bool { return l.Reason == "" }},
		{"deliver keeps provider id", []store.State{store.Accepted}, store.Delivered, store.Change{}, true,
			func(l store.LedgerRow) bool { return l.ProviderID == "SM123" && l.Segments == 2 }},
		{"bounce records reason and error", []store.State{store.Accepted, store.Delivered}, store.Bounced,
			store.Change{Reason: "hard_bounce", Error: "550 5.1.1"}, true,
			func(l store.LedgerRow) bool { return l.Reason == "hard_bounce" && l.Error == "550 5.1.1" }},
	}
	state := store.Planned
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := getLedger(t, s, row.ID)
			if moved := transition(t, s, row.ID, tc.from, tc.to, tc.change); moved != tc.moved {
				t.Fatalf("moved = %v, want %v", moved, tc.moved)
			}
			if tc.moved {
				state = tc.to
			}
			got := getLedger(t, s, row.ID)
			if got.State != state {
				t.Errorf("state %s, want %s", got.State, state)
			}
			if tc.moved && got.UpdatedAt.Before(before.UpdatedAt) {
				t.Errorf("updated_at went back")
			}
			if tc.check != nil && !tc.check(got) {
				t.Errorf("row after transition: %+v", got)
			}
		})
	}
	if moved := transition(t, s, "missing", P, store.Claimed, store.Change{}); moved {
		t.Error("a missing row moved")
	}
	l, err := s.GetLedgerByProvider(ctx(t), "SM123")
	if err != nil || l.ID != row.ID {
		t.Errorf("GetLedgerByProvider = %s, %v; want %s", l.ID, err, row.ID)
	}
	_, err = s.GetLedgerByProvider(ctx(t), "SM999")
	wantNotFound(t, "GetLedgerByProvider(missing)", err)
}

// testConcurrentClaim races 20 workers on each row: the conditional update
// must let exactly one of them claim it.
func testConcurrentClaim(t *testing.T, s store.Store) {
	r := newRun(t, s, "c", "k")
	rows := ledgerRows(r, "s1", "email", "marketing", 5)
	insertLedger(t, s, rows)
	const workers = 20
	for _, row := range rows {
		var wins atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				ok, err := s.Transition(ctx(t), row.ID, []store.State{store.Planned}, store.Claimed, store.Change{AddAttempt: true})
				if err != nil {
					errs <- err
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Transition: %v", err)
		}
		if n := wins.Load(); n != 1 {
			t.Errorf("row %s claimed %d times, want exactly 1", row.ID, n)
		}
		if l := getLedger(t, s, row.ID); l.State != store.Claimed || l.Attempts != 1 {
			t.Errorf("row %s after the race: state %s attempts %d", row.ID, l.State, l.Attempts)
		}
	}
}

// testConcurrentWriters runs upserts, ledger inserts and transitions from
// several goroutines at once, as expansion and workers do on one store:
// none may fail (no SQLITE_BUSY, no deadlock).
func testConcurrentWriters(t *testing.T, s store.Store) {
	r := newRun(t, s, "c", "k")
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers*3)
	for w := range writers {
		wg.Go(func() {
			cs := make([]*contact.Contact, 200)
			for i := range cs {
				cs[i] = person(fmt.Sprintf("w%d-%d", w, i), "", "")
			}
			if _, _, err := s.UpsertContacts(ctx(t), cs); err != nil {
				errs <- err
				return
			}
			rows := make([]store.LedgerRow, len(cs))
			for i, c := range cs {
				rows[i] = store.LedgerRow{RunID: r.ID, CampaignID: "c", StepID: "s", ContactID: c.ID, Channel: "email", State: store.Planned}
			}
			if _, err := s.InsertLedger(ctx(t), rows); err != nil {
				errs <- err
				return
			}
			for _, row := range rows[:50] {
				id := store.LedgerID(row.RunID, row.StepID, row.ContactID, row.Channel)
				if _, err := s.Transition(ctx(t), id, []store.State{store.Planned}, store.Claimed, store.Change{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent writer: %v", err)
	}
	counts, err := s.CountLedger(ctx(t), r.ID)
	if err != nil {
		t.Fatalf("CountLedger: %v", err)
	}
	diff(t, "counts", counts, map[string]int{"planned": writers * 150, "claimed": writers * 50})
}

func testCountLedger(t *testing.T, s store.Store) {
	r, other := newRun(t, s, "c", "k"), newRun(t, s, "c", "k2")
	rows := ledgerRows(r, "s1", "email", "marketing", 10)
	insertLedger(t, s, rows)
	insertLedger(t, s, ledgerRows(other, "s1", "email", "marketing", 3))
	refuse := func(i int, reason string) {
		transition(t, s, rows[i].ID, []store.State{store.Planned}, store.Refused, store.Change{Reason: reason})
	}
	refuse(0, "no_consent")
	refuse(1, "no_consent")
	refuse(2, "suppressed")
	transition(t, s, rows[3].ID, []store.State{store.Planned}, store.Claimed, store.Change{})
	transition(t, s, rows[4].ID, []store.State{store.Planned}, store.Failed, store.Change{Reason: "invalid_number"})
	tests := []struct {
		name  string
		runID int64
		want  map[string]int
	}{
		{"per state and refusal reason", r.ID, map[string]int{
			"planned": 5, "claimed": 1, "failed": 1, "refused": 3,
			"refused:no_consent": 2, "refused:suppressed": 1,
		}},
		{"other run", other.ID, map[string]int{"planned": 3}},
		{"no rows", other.ID + 100, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CountLedger(ctx(t), tc.runID)
			if err != nil {
				t.Fatalf("CountLedger: %v", err)
			}
			diff(t, "counts", got, tc.want)
		})
	}
}

func testListLedger(t *testing.T, s store.Store) {
	r, other := newRun(t, s, "c", "k"), newRun(t, s, "c", "k2")
	rows := ledgerRows(r, "s1", "email", "marketing", 30)
	insertLedger(t, s, rows)
	insertLedger(t, s, ledgerRows(other, "s1", "email", "marketing", 4))
	for _, row := range rows[:7] {
		transition(t, s, row.ID, []store.State{store.Planned}, store.Submitting, store.Change{})
	}
	tests := []struct {
		name string
		f    store.LedgerFilter
		want int
	}{
		{"one run", store.LedgerFilter{RunID: r.ID, Limit: 4}, 30},
		{"all runs", store.LedgerFilter{Limit: 5}, 34},
		{"by state", store.LedgerFilter{RunID: r.ID, States: []store.State{store.Submitting}, Limit: 3}, 7},
		{"several states", store.LedgerFilter{RunID: r.ID, States: []store.State{store.Submitting, store.Planned}}, 30},
		{"nothing matches", store.LedgerFilter{RunID: r.ID, States: []store.State{store.Delivered}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, n := tc.f, 0
			for {
				page, err := s.ListLedger(ctx(t), f)
				if err != nil {
					t.Fatalf("ListLedger: %v", err)
				}
				if len(page) == 0 {
					break
				}
				if f.Limit > 0 && len(page) > f.Limit {
					t.Fatalf("page of %d rows, limit %d", len(page), f.Limit)
				}
				for _, l := range page {
					if l.ID <= f.AfterID {
						t.Fatalf("row %s not after %s", l.ID, f.AfterID)
					}
					if tc.f.RunID != 0 && l.RunID != tc.f.RunID {
						t.Errorf("row of run %d in a run %d listing", l.RunID, tc.f.RunID)
					}
					if len(tc.f.States) > 0 && !contains(tc.f.States, l.State) {
						t.Errorf("row in state %s, filter %v", l.State, tc.f.States)
					}
					f.AfterID = l.ID
					n++
				}
			}
			if n != tc.want {
				t.Errorf("listed %d rows, want %d", n, tc.want)
			}
		})
	}
}

func contains(states []store.State, s store.State) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}

func testMarketingSentSince(t *testing.T, s store.Store) {
	r := newRun(t, s, "c", "k")
	// Contact 1 gets a marketing email (accepted), a marketing SMS
	// (delivered), a refused one and a transactional one.
	rows := []store.LedgerRow{
		{RunID: r.ID, CampaignID: "c", StepID: "a", ContactID: 1, Channel: "email", Purpose: "marketing"},
		{RunID: r.ID, CampaignID: "c", StepID: "b", ContactID: 1, Channel: "sms", Purpose: "marketing"},
		{RunID: r.ID, CampaignID: "c", StepID: "c", ContactID: 1, Channel: "email", Purpose: "marketing"},
		{RunID: r.ID, CampaignID: "c", StepID: "d", ContactID: 1, Channel: "email", Purpose: "transactional"},
		{RunID: r.ID, CampaignID: "c", StepID: "a", ContactID: 2, Channel: "email", Purpose: "marketing"},
	}
	for i := range rows {
		rows[i].ID = store.LedgerID(rows[i].RunID, rows[i].StepID, rows[i].ContactID, rows[i].Channel)
	}
	insertLedger(t, s, rows)
	move := func(i int, to store.State) {
		transition(t, s, rows[i].ID, []store.State{store.Planned}, to, store.Change{})
	}
	move(0, store.Accepted)
	move(1, store.Delivered)
	move(2, store.Refused)
	move(3, store.Accepted)
	tests := []struct {
		name    string
		contact int64
		since   time.Time
		want    int
	}{
		{"counts sent marketing only", 1, time.Now().Add(-7 * 24 * time.Hour), 2},
		{"planned rows do not count", 2, time.Now().Add(-7 * 24 * time.Hour), 0},
		{"nothing after a future instant", 1, time.Now().Add(time.Hour), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.MarketingSentSince(ctx(t), tc.contact, tc.since)
			if err != nil {
				t.Fatalf("MarketingSentSince: %v", err)
			}
			if got != tc.want {
				t.Errorf("MarketingSentSince = %d, want %d", got, tc.want)
			}
		})
	}
}
