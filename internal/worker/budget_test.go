package worker_test

import (
	"context"
	"testing"

	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// TestRenderLoopFailsOnlyItsRow checks a template looping on a number
// from one contact's data stops at the render budget and fails that row
// with render_error, while another contact's row of the same run is sent.
func TestRenderLoopFailsOnlyItsRow(t *testing.T) {
	f := setup(t, "loop")
	ctx := context.Background()
	yes := true
	f.c.Attrs = map[string]any{"n": 2}
	big := &contact.Contact{ExternalID: "C2", FirstName: "Zoé", Email: "zoe@example.org", Consent: map[string]*bool{"email": &yes},
		Attrs: map[string]any{"n": int64(1) << 60}}
	big.Normalize()
	if _, _, err := f.st.UpsertContacts(ctx, []*contact.Contact{f.c, big}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range []*contact.Contact{f.c, big} {
		id := store.LedgerID(f.run.ID, "s1", c.ID, emailch.Name)
		if _, err := f.st.InsertLedger(ctx, []store.LedgerRow{{ID: id, RunID: f.run.ID, CampaignID: f.sp.ID,
			StepID: "s1", ContactID: c.ID, Channel: emailch.Name, Purpose: "marketing", State: store.Planned}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		_ = f.handle(id) // the looping row's error is permanent; its state says why
	}
	if r := f.state(t, ids[0]); r.State != store.Accepted {
		t.Errorf("row of the contact with n=2: %s %s, want accepted", r.State, r.Reason)
	}
	if r := f.state(t, ids[1]); r.State != store.Failed || r.Reason != "render_error" {
		t.Errorf("row of the looping contact: %s %q, want failed render_error", r.State, r.Reason)
	}
	if n := len(f.smtp.Messages()); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
}
