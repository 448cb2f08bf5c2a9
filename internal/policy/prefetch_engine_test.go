package policy

import (
	"context"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// A prefetched engine decides every contact of a batch as the engine
// does, from four batch reads and no single one.
func TestPrefetchDecidesAsTheEngine(t *testing.T) {
	now := tuesday10(t)
	m := newMemLookup()
	bl := &batchMem{memLookup: m}
	e := newEngine(t, bl, now)
	var cs []*contact.Contact
	for i := range 5 {
		c := fullContact(contact.KindPerson)
		c.ID = int64(100 + i)
		c.Email = string(rune('a'+i)) + "@example.fr"
		cs = append(cs, c)
		m.setConsent(c.ID, "email", contact.PurposeMarketing, contact.Granted)
	}
	m.setConsent(cs[1].ID, "email", contact.PurposeMarketing, contact.Refused)
	m.suppress(e.SuppressionKey("email", "c@example.fr"), contact.SuppressHardBounce)
	m.addSent(cs[3].ID, now.Add(-time.Hour), now.Add(-2*time.Hour), now.Add(-3*time.Hour))
	m.setConsent(cs[4].ID, "email", contact.PurposeOpenTracking, contact.Granted)
	want := []string{"", ReasonOptedOut, ReasonSuppressed, ReasonFrequencyCap, ""}

	pe, err := e.Prefetch(context.Background(), cs, []string{"email"}, contact.PurposeMarketing, nil)
	if err != nil {
		t.Fatalf("Prefetch: %v", err)
	}
	if n := bl.batch.Load(); n != 4 {
		t.Errorf("%d batch reads, want 4 (suppressions, consents, counts, open tracking)", n)
	}
	bl.single.Store(0)
	for i, c := range cs {
		in := Input{Contact: c, Channel: "email", Purpose: contact.PurposeMarketing, Stage: Send}
		got, err := pe.Decide(context.Background(), in)
		if err != nil || got.Reason != want[i] {
			t.Errorf("contact %d: prefetched %q (%v), want %q", i, got.Reason, err, want[i])
		}
		track, err := pe.TrackOpens(context.Background(), c)
		if err != nil || track != (i == 4) {
			t.Errorf("contact %d: open tracking %v (%v)", i, track, err)
		}
	}
	if n := bl.single.Load(); n != 0 {
		t.Errorf("%d single reads after the prefetch, want 0", n)
	}
	for i, c := range cs {
		one, err := e.Decide(context.Background(), Input{Contact: c, Channel: "email", Purpose: contact.PurposeMarketing, Stage: Send})
		if err != nil || one.Reason != want[i] {
			t.Errorf("contact %d: engine %q (%v), want %q", i, one.Reason, err, want[i])
		}
	}
	// A contact the prefetch did not read is read through the lookup.
	other := fullContact(contact.KindPerson)
	other.ID, other.Email = 999, "z@example.fr"
	bl.single.Store(0)
	if _, err := pe.Decide(context.Background(), Input{Contact: other, Channel: "email", Purpose: contact.PurposeMarketing, Stage: Send}); err != nil {
		t.Fatal(err)
	}
	if n := bl.single.Load(); n != 2 {
		// Its suppression and its consent: without consent it is refused
		// before the cap is counted.
		t.Errorf("%d single reads for a contact not prefetched, want 2", n)
	}
}
