package run_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// countingQueue accepts every task without a Redis (the test compares
// ledger rows, not tasks).
type countingQueue struct{ n atomic.Int64 }

func (q *countingQueue) EnqueueContext(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
	q.n.Add(1)
	return &asynq.TaskInfo{}, nil
}

// oneByOne hides the engine's Prefetch: every decision reads the store.
type oneByOne struct{ e *policy.Engine }

func (o oneByOne) Decide(ctx context.Context, in policy.Input) (policy.Decision, error) {
	return o.e.Decide(ctx, in)
}

const prefetchCampaign = `id: %s
name: Lettre %s
purpose: marketing
limits:
  frequency_cap: 1/7d
audience:
  source: file
  file: audience.csv
channels: [email, sms]
sender:
  email: "Maison Dupont <news@dupont.example>"
  sms: DUPONT
steps:
  - id: s1
    channels: [email, sms]
    email:
      subject: "Bonjour"
      text: hello.txt
    sms: { text: hello.txt }
`

// TestPrefetchedExpansionDecidesAsOneByOne expands the same marketing
// campaign on two identical stores, with the batch lookups (the default)
// and with one lookup per decision: after a first campaign left consent
// withdrawals, suppressions and sends counted by the frequency cap, the
// second campaign's ledger rows are identical, row for row, and cover
// every refusal the fixture sets up.
func TestPrefetchedExpansionDecidesAsOneByOne(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	f, err := os.Create(filepath.Join(repo, "audience.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := audience.GenerateCSV(f, 1500); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(repo, "hello.txt"), []byte("Bonjour {{.Contact.FirstName}}, STOP au 36180"), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := map[string]*campaign.Spec{}
	for _, id := range []string{"first", "second"} {
		p := filepath.Join(repo, id+".yaml")
		if err := os.WriteFile(p, []byte(fmt.Sprintf(prefetchCampaign, id, id)), 0o644); err != nil {
			t.Fatal(err)
		}
		if specs[id], err = campaign.Load(p); err != nil {
			t.Fatal(err)
		}
	}
	secret := []byte("run-test-secret-0123456789")
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC) // a Tuesday, inside the SMS window
	clock := func() time.Time { return now }
	ledgers := map[string]map[string]string{}
	for _, mode := range []string{"prefetch", "one-by-one"} {
		st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "relais.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		eng, err := policy.New(policy.DefaultRules(), st, secret, clock)
		if err != nil {
			t.Fatal(err)
		}
		p := &run.Planner{Store: st, Queue: &countingQueue{}, Policy: eng, Now: clock}
		if mode == "one-by-one" {
			p.Policy = oneByOne{eng}
		}
		first, err := p.Start(ctx, specs["first"], "k")
		if err != nil {
			t.Fatalf("%s: first campaign: %v", mode, err)
		}
		// The first campaign leaves a history the second one's policy reads.
		rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: first.Run.ID, States: []store.State{store.Planned}, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows {
			switch i % 4 {
			case 0: // sent: the cap of 1 per 7 days is reached
				if _, err := st.Transition(ctx, r.ID, []store.State{store.Planned}, store.Accepted, store.Change{}); err != nil {
					t.Fatal(err)
				}
			case 1: // withdrew consent on both channels
				for _, ch := range []string{"email", "sms"} {
					if err := st.SetConsent(ctx, r.ContactID, ch, contact.PurposeMarketing, contact.ConsentState{Status: contact.Refused, Source: "unsubscribe"}); err != nil {
						t.Fatal(err)
					}
				}
			case 2: // bounced: every address of the contact suppressed
				c, err := st.GetContact(ctx, r.ContactID)
				if err != nil {
					t.Fatal(err)
				}
				for _, key := range eng.SuppressionKeys(c) {
					if err := st.Suppress(ctx, key, contact.SuppressHardBounce); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		second, err := p.Start(ctx, specs["second"], "k")
		if err != nil {
			t.Fatalf("%s: second campaign: %v", mode, err)
		}
		all, err := st.ListLedger(ctx, store.LedgerFilter{RunID: second.Run.ID, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		ledgers[mode] = map[string]string{}
		for _, r := range all {
			ledgers[mode][r.ID] = string(r.State) + "/" + r.Reason
		}
	}
	a, b := ledgers["prefetch"], ledgers["one-by-one"]
	if len(a) != len(b) || len(a) < 1400 {
		t.Fatalf("%d rows with prefetch, %d one by one", len(a), len(b))
	}
	outcomes := map[string]int{}
	for id, got := range a {
		if b[id] != got {
			t.Errorf("row %s: %s with prefetch, %s one by one", id, got, b[id])
		}
		outcomes[got]++
	}
	for _, want := range []string{"planned/", "refused/" + policy.ReasonFrequencyCap, "refused/" + policy.ReasonOptedOut,
		"refused/" + policy.ReasonSuppressed, "refused/" + policy.ReasonNoConsent} {
		if outcomes[want] == 0 {
			t.Errorf("no row %s: the fixture misses an outcome (%v)", want, outcomes)
		}
	}
}
