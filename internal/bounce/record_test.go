package bounce_test

import (
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/store"
)

// TestSoftBounceLimit: three soft bounces of one address within the window
// suppress it (reason soft_bounce); two, or a third outside the window,
// do not; a report about a refused row records nothing.
func TestSoftBounceLimit(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			row := f.sent(t, "C1", "dora@example.net")
			soft := func(ref string, at time.Time) bool {
				t.Helper()
				ok, err := f.rec.Apply(t.Context(), bounce.Outcome{Kind: bounce.SoftBounce, LedgerID: row.ID, Status: "4.2.2", Source: "mailbox", Ref: ref, At: at})
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				return ok
			}
			old := f.now.Add(-40 * 24 * time.Hour)
			if !soft("r0", old) || !soft("r1", f.now.Add(-time.Hour)) || !soft("r2", f.now) {
				t.Fatal("a new soft bounce was not recorded")
			}
			if got := f.suppression(t, "dora@example.net"); got != "" {
				t.Fatalf("suppressed (%s) after 2 soft bounces within 30 days", got)
			}
			if soft("r2", f.now) {
				t.Fatal("the same report counted twice")
			}
			soft("r3", f.now)
			if got := f.suppression(t, "dora@example.net"); got != "soft_bounce" {
				t.Fatalf("suppression %q after 3 soft bounces, want soft_bounce", got)
			}
			if r := f.state(t, row.ID); r.State != store.Accepted {
				t.Errorf("row %s, want accepted", r.State)
			}

			refused := f.sent(t, "C2", "emile@example.net")
			if _, err := f.st.Transition(t.Context(), refused.ID, []store.State{store.Accepted}, store.Refused, store.Change{Reason: "x"}); err != nil {
				t.Fatal(err)
			}
			ok, err := f.rec.Apply(t.Context(), bounce.Outcome{Kind: bounce.HardBounce, LedgerID: refused.ID, Status: "5.1.1", Source: "ses"})
			if err != nil || ok || f.suppression(t, "emile@example.net") != "" {
				t.Errorf("report on a refused row: applied %v, %v, suppression %q", ok, err, f.suppression(t, "emile@example.net"))
			}
		})
	}
}
