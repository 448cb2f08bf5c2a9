package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// TestRunControl pauses, resumes and cancels a run on both backends: a
// cancel moves exactly the unsent rows, keeps its first reason, and what
// a run may have sent is what a later version must not send again.
func TestRunControl(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			now := time.Now().UTC().Truncate(time.Millisecond)
			r, _, err := st.CreateRun(ctx, store.Run{CampaignID: "c", RunKey: "v1", ContentHash: "h1", State: store.RunSending})
			if err != nil {
				t.Fatal(err)
			}
			states := []store.State{store.Planned, store.Deferred, store.Claimed, store.Submitting, store.Accepted, store.Refused}
			var rows []store.LedgerRow
			for i, s := range states {
				rows = append(rows, store.LedgerRow{RunID: r.ID, CampaignID: "c", StepID: "a", ContactID: int64(i + 1), Channel: "email", Purpose: "marketing", State: s})
			}
			if _, err := st.InsertLedger(ctx, rows); err != nil {
				t.Fatal(err)
			}
			if ok, err := st.PauseRun(ctx, r.ID, now); !ok || err != nil {
				t.Fatalf("pause = %v, %v", ok, err)
			}
			if ok, _ := st.PauseRun(ctx, r.ID, now); ok {
				t.Error("pausing a paused run changed it")
			}
			got, _ := st.GetRun(ctx, r.ID)
			if got.PausedAt.IsZero() || store.RunStatus(got, map[string]int{"planned": 1}) != store.RunPaused {
				t.Errorf("paused run reads %+v", got)
			}
			if ok, err := st.ResumeRun(ctx, r.ID); !ok || err != nil {
				t.Fatalf("resume = %v, %v", ok, err)
			}
			n, err := st.CancelRun(ctx, r.ID, "wrong offer", now)
			if err != nil || n != 3 {
				t.Fatalf("cancel moved %d rows (%v), want the 3 unsent", n, err)
			}
			if _, err := st.CancelRun(ctx, r.ID, "another reason", now); err != nil {
				t.Fatal(err)
			}
			got, _ = st.GetRun(ctx, r.ID)
			c, _ := st.CountLedger(ctx, r.ID)
			if got.CancelReason != "wrong offer" || c["canceled"] != 3 || c["submitting"] != 1 || c["accepted"] != 1 {
				t.Errorf("after cancel: run %+v, counts %v", got, c)
			}
			if ok, _ := st.PauseRun(ctx, r.ID, now); ok {
				t.Error("a canceled run was paused")
			}
			if _, err := st.PauseRun(ctx, 9999, now); err == nil {
				t.Error("pausing a missing run succeeded")
			}

			r2, _, _ := st.CreateRun(ctx, store.Run{CampaignID: "c", RunKey: "v2", ContentHash: "h2"})
			rec, err := st.Received(ctx, "c", r2.ID, []int64{1, 2, 3, 4, 5, 6, 7})
			if err != nil || len(rec) != 2 {
				t.Fatalf("received = %v, %v; want the submitting and the accepted row", rec, err)
			}
			if rec, _ := st.Received(ctx, "c", r.ID, []int64{4, 5}); len(rec) != 0 {
				t.Errorf("a run's own rows count as received before it: %v", rec)
			}

			if ok, err := st.PauseCampaign(ctx, "c", now); !ok || err != nil {
				t.Fatalf("pause campaign = %v, %v", ok, err)
			}
			if at, err := st.CampaignPaused(ctx, "c"); err != nil || at.IsZero() {
				t.Errorf("campaign paused at %v, %v", at, err)
			}
			if ok, _ := st.ResumeCampaign(ctx, "c"); !ok {
				t.Error("resume campaign changed nothing")
			}
			if at, err := st.CampaignPaused(ctx, "c"); err != nil || !at.IsZero() {
				t.Errorf("resumed campaign paused at %v, %v", at, err)
			}
		})
	}
}
