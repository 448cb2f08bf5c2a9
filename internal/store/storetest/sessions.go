package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// testSessions checks the dashboard's sessions: created, touched (which
// extends the idle end), refused once either end has passed, listed
// newest first, and ended one by one, per key, or when expired.
func testSessions(t *testing.T, s store.Store, _ store.APIStore) {
	c := ctx(t)
	t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(id, key string, created time.Time) store.Session {
		return store.Session{ID: id, KeyID: key, CreatedAt: created, LastSeenAt: created,
			ExpiresAt: created.Add(12 * time.Hour), IdleExpiresAt: created.Add(30 * time.Minute), UserAgent: "ua " + id, IP: "127.0.0.1"}
	}
	a, b, other := mk("s-a", "k1", t0), mk("s-b", "k1", t0.Add(time.Minute)), mk("s-c", "k2", t0.Add(2*time.Minute))
	for _, x := range []store.Session{a, b, other} {
		if err := s.CreateSession(c, x); err != nil {
			t.Fatalf("CreateSession(%s): %v", x.ID, err)
		}
	}
	list, err := s.ListSessions(c, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if len(list) != 3 || !reflect.DeepEqual(list[2], a) || list[0].ID != "s-c" || list[1].ID != "s-b" {
		t.Fatalf("ListSessions = %+v, want s-c, s-b, s-a (newest first) as stored", list)
	}

	// A request 20 min in extends the idle end by 30 min from then.
	at := t0.Add(20 * time.Minute)
	got, err := s.TouchSession(c, "s-a", at, at.Add(30*time.Minute))
	if err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	if !got.LastSeenAt.Equal(at) || !got.IdleExpiresAt.Equal(at.Add(30*time.Minute)) || got.KeyID != "k1" || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Errorf("TouchSession = %+v, want last seen %v, idle end %v", got, at, at.Add(30*time.Minute))
	}
	// 40 min after sign-in: s-a was touched and lives, s-b idled out.
	at = t0.Add(40 * time.Minute)
	if _, err := s.TouchSession(c, "s-a", at, at.Add(30*time.Minute)); err != nil {
		t.Errorf("TouchSession of a touched session: %v", err)
	}
	if _, err := s.TouchSession(c, "s-b", at, at.Add(30*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession after the idle end = %v, want ErrNotFound", err)
	}
	if _, err := s.TouchSession(c, "nope", at, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession(missing) = %v, want ErrNotFound", err)
	}
	// The absolute end holds whatever the activity.
	late := t0.Add(12 * time.Hour)
	if _, err := s.TouchSession(c, "s-a", late, late.Add(30*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession at the absolute end = %v, want ErrNotFound", err)
	}
	if list, _ := s.ListSessions(c, at); len(list) != 1 || list[0].ID != "s-a" {
		t.Errorf("ListSessions at +40 min = %+v, want only s-a", list)
	}
	if n, err := s.PurgeSessions(c, at); err != nil || n != 2 {
		t.Errorf("PurgeSessions = %d, %v; want 2 (s-b, s-c idled out)", n, err)
	}

	// Ending sessions: by key, then one by one.
	for _, x := range []store.Session{mk("s-d", "k1", at), mk("s-e", "k2", at)} {
		if err := s.CreateSession(c, x); err != nil {
			t.Fatalf("CreateSession(%s): %v", x.ID, err)
		}
	}
	if n, err := s.DeleteKeySessions(c, "k1"); err != nil || n != 2 {
		t.Errorf("DeleteKeySessions(k1) = %d, %v; want 2 (s-a, s-d)", n, err)
	}
	if n, err := s.DeleteKeySessions(c, "k1"); err != nil || n != 0 {
		t.Errorf("DeleteKeySessions(k1) again = %d, %v; want 0", n, err)
	}
	if err := s.DeleteSession(c, "s-e"); err != nil {
		t.Errorf("DeleteSession: %v", err)
	}
	if err := s.DeleteSession(c, "s-e"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSession again = %v, want ErrNotFound", err)
	}
	if list, _ := s.ListSessions(c, at); len(list) != 0 {
		t.Errorf("ListSessions after ending all = %+v, want none", list)
	}
}
