package storetest

import (
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// RunApprovals checks proofs and approvals: proofs listed newest first by
// campaign and version, an approval counting only for its own version,
// and a second approval by the same person replacing the first.
func RunApprovals(t *testing.T, open Opener) {
	t.Run("Proofs", func(t *testing.T) {
		s := open(t)
		t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
		for i, p := range []store.Proof{
			{ID: "p1", CampaignID: "printemps", Version: "v1", StepID: "annonce", Channel: "email", ContactID: 7, Recipient: "C001", To: "bat@dupont.example", ProviderID: "<m1@x>", SentAt: t0},
			{ID: "p2", CampaignID: "printemps", Version: "v2", StepID: "annonce", Channel: "email", Recipient: "C002", To: "bat@dupont.example", SentAt: t0.Add(time.Minute)},
			{ID: "p3", CampaignID: "autre", Version: "v1", StepID: "s", Channel: "sms", Recipient: "C003", To: "+33612345678", SentAt: t0},
		} {
			if err := s.RecordProof(ctx(t), p); err != nil {
				t.Fatalf("RecordProof #%d: %v", i, err)
			}
		}
		all, err := s.ListProofs(ctx(t), "printemps", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != "p2" || all[1].ID != "p1" {
			t.Fatalf("ListProofs(printemps) = %+v, want p2 then p1", all)
		}
		if p := all[1]; p.ContactID != 7 || p.Recipient != "C001" || p.To != "bat@dupont.example" || p.ProviderID != "<m1@x>" || !p.SentAt.Equal(t0) {
			t.Errorf("proof p1 read back as %+v", p)
		}
		v1, err := s.ListProofs(ctx(t), "printemps", "v1")
		if err != nil || len(v1) != 1 || v1[0].ID != "p1" {
			t.Fatalf("ListProofs(printemps, v1) = %+v, %v", v1, err)
		}
		none, err := s.ListProofs(ctx(t), "nothing", "")
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("ListProofs(nothing) = %#v, %v; want an empty list", none, err)
		}
		if err := s.RecordProof(ctx(t), store.Proof{ID: "p1", CampaignID: "x", Version: "v", StepID: "s", Channel: "email", To: "a", SentAt: t0}); err == nil {
			t.Error("RecordProof accepted a duplicate id")
		}
	})
	t.Run("Approvals", func(t *testing.T) {
		s := open(t)
		t0 := time.Date(2027, 3, 1, 11, 0, 0, 0, time.UTC)
		for _, a := range []store.Approval{
			{CampaignID: "printemps", Version: "v1", By: "claire", Note: "ok", At: t0},
			{CampaignID: "printemps", Version: "v1", By: "marc", At: t0.Add(time.Minute)},
			{CampaignID: "printemps", Version: "v1", By: "claire", Note: "ok après correction", At: t0.Add(2 * time.Minute)},
		} {
			if err := s.Approve(ctx(t), a); err != nil {
				t.Fatalf("Approve: %v", err)
			}
		}
		got, err := s.Approvals(ctx(t), "printemps", "v1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].By != "marc" || got[1].By != "claire" || got[1].Note != "ok après correction" || !got[1].At.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("Approvals(v1) = %+v, want marc then claire's second approval", got)
		}
		other, err := s.Approvals(ctx(t), "printemps", "v2")
		if err != nil || other == nil || len(other) != 0 {
			t.Fatalf("Approvals(v2) = %#v, %v; an approval of v1 must not count for v2", other, err)
		}
		all, err := s.Approvals(ctx(t), "printemps", "")
		if err != nil || len(all) != 2 {
			t.Fatalf("Approvals(all versions) = %+v, %v", all, err)
		}
	})
}
