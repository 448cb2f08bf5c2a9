package main

import (
	"context"
	"testing"
)

// TestPlanSeesStoredConsent: after a refusal recorded in the contact
// store, plan on a file audience counts what run sends (both match the
// file's rows to stored contacts), and plan writes no contact.
func TestPlanSeesStoredConsent(t *testing.T) {
	project(t)
	ctx := context.Background()
	c := &cli{t: t, env: map[string]string{}}
	c.mustRun(ctx, "contacts", "import", "samples/clients.csv")
	plan := func() (planned int, optedOut int) {
		var p struct {
			Planned  int            `json:"planned"`
			ByReason map[string]int `json:"by_reason"`
		}
		decodeJSON(t, c.mustRun(ctx, "plan", "campaigns/printemps-2027.yaml", "--json").stdout, &p)
		return p.Planned, p.ByReason["opted_out"]
	}
	before, refusedBefore := plan()
	if before != 5 {
		t.Fatalf("plan before the refusal: %d to send, want 5", before)
	}
	c.mustRun(ctx, "consent", "set", "C002", "--channel", "email", "--purpose", "marketing", "--refused", "--source", "phone", "--text", "appel du 3/03")
	after, refusedAfter := plan()
	if after != 4 || refusedAfter != refusedBefore+1 {
		t.Errorf("plan after C002 refused: %d to send, %d opted out; want 4 and %d", after, refusedAfter, refusedBefore+1)
	}
	var r struct {
		Counts map[string]int `json:"counts"`
	}
	decodeJSON(t, c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait", "--json").stdout, &r)
	if r.Counts["accepted"] != after {
		t.Errorf("run accepted %d, plan said %d (counts %v)", r.Counts["accepted"], after, r.Counts)
	}
}
