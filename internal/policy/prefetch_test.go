package policy

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// batchMem is memLookup with the batch lookups, counting the calls of
// each kind so a test can tell a prefetched decision from a fresh read.
type batchMem struct {
	*memLookup
	single, batch atomic.Int64
}

func (b *batchMem) Consent(ctx context.Context, id int64, ch, purpose string) (contact.ConsentState, error) {
	b.single.Add(1)
	return b.memLookup.Consent(ctx, id, ch, purpose)
}

func (b *batchMem) Suppressed(ctx context.Context, key string) (bool, string, error) {
	b.single.Add(1)
	return b.memLookup.Suppressed(ctx, key)
}

func (b *batchMem) MarketingSentSince(ctx context.Context, id int64, since time.Time) (int, error) {
	b.single.Add(1)
	return b.memLookup.MarketingSentSince(ctx, id, since)
}

func (b *batchMem) SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error) {
	b.batch.Add(1)
	out := map[string]string{}
	for _, k := range keys {
		if ok, why, _ := b.memLookup.Suppressed(ctx, k); ok {
			out[k] = why
		}
	}
	return out, nil
}

func (b *batchMem) Consents(ctx context.Context, ids []int64, ch, purpose string) (map[int64]contact.ConsentState, error) {
	b.batch.Add(1)
	out := map[int64]contact.ConsentState{}
	for _, id := range ids {
		out[id], _ = b.memLookup.Consent(ctx, id, ch, purpose)
	}
	return out, nil
}

func (b *batchMem) MarketingSentSinceMany(ctx context.Context, ids []int64, since time.Time) (map[int64]int, error) {
	b.batch.Add(1)
	out := map[int64]int{}
	for _, id := range ids {
		if n, _ := b.memLookup.MarketingSentSince(ctx, id, since); n > 0 {
			out[id] = n
		}
	}
	return out, nil
}

var _ BatchLookup = (*batchMem)(nil)

// TestPrefetchDecidesAsDecide judges a batch of contacts covering every
// lookup outcome with a prefetched decider and with the engine itself:
// the decisions are identical, and the prefetched ones read nothing one
// at a time.
func TestPrefetchDecidesAsDecide(t *testing.T) {
	now := tuesday10(t)
	mem := newMemLookup()
	lookup := &batchMem{memLookup: mem}
	e := newEngine(t, lookup, now)
	var cs []*contact.Contact
	for i := range 12 {
		c := fullContact(contact.KindPerson)
		c.ID = int64(100 + i)
		c.Email = fmt.Sprintf("person%d@example.fr", i)
		c.Phone = fmt.Sprintf("+3361234560%d", i%10)
		c.Normalize()
		cs = append(cs, c)
	}
	cs[11].ID = 0 // not stored: no consent or cap lookup
	mem.setConsent(100, "email", contact.PurposeMarketing, contact.Granted)
	mem.setConsent(101, "email", contact.PurposeMarketing, contact.Refused)
	mem.setConsent(102, "email", contact.PurposeMarketing, contact.Granted)
	mem.addSent(102, now.Add(-time.Hour), now.Add(-2*time.Hour), now.Add(-3*time.Hour)) // capped
	mem.setConsent(103, "email", contact.PurposeMarketing, contact.Granted)
	mem.suppress(e.SuppressionKey("email", cs[3].EmailNorm), contact.SuppressHardBounce)
	mem.setConsent(104, "email", contact.PurposeMarketing, contact.Granted)
	mem.suppress(e.SuppressionKey("email", cs[4].EmailNorm), contact.SuppressOptedOut)
	mem.setConsent(105, "sms", contact.PurposeMarketing, contact.Granted)
	cs[6].Email, cs[6].EmailNorm = "", "" // no address
	for _, purpose := range []string{contact.PurposeMarketing, contact.PurposeTransactional} {
		t.Run(purpose, func(t *testing.T) {
			chans := []string{"email", "sms"}
			d, err := e.Prefetch(context.Background(), cs, chans, purpose, nil)
			if err != nil {
				t.Fatalf("Prefetch: %v", err)
			}
			lookup.single.Store(0)
			for _, c := range cs {
				for _, ch := range chans {
					in := Input{Contact: c, Channel: ch, Purpose: purpose, Stage: Plan}
					got, err := d.Decide(context.Background(), in)
					if err != nil {
						t.Fatalf("prefetched Decide: %v", err)
					}
					if n := lookup.single.Load(); n != 0 {
						t.Fatalf("contact %d on %s: %d lookups made one at a time after Prefetch", c.ID, ch, n)
					}
					want, err := e.Decide(context.Background(), in)
					if err != nil {
						t.Fatalf("Decide: %v", err)
					}
					lookup.single.Store(0)
					if got != want {
						t.Errorf("contact %d on %s: prefetched %+v, Decide %+v", c.ID, ch, got, want)
					}
				}
			}
		})
	}
	// The fixture reaches every outcome it was built for.
	d, _ := e.Prefetch(context.Background(), cs, []string{"email"}, contact.PurposeMarketing, nil)
	want := map[int64]string{100: "", 101: ReasonOptedOut, 102: ReasonFrequencyCap, 103: ReasonSuppressed, 104: ReasonOptedOut, 105: ReasonNoConsent}
	for i, reason := range want {
		got, _ := d.Decide(context.Background(), Input{Contact: cs[i-100], Channel: "email", Purpose: contact.PurposeMarketing, Stage: Plan})
		if got.Reason != reason {
			t.Errorf("contact %d: reason %q, want %q", i, got.Reason, reason)
		}
	}
	// A contact outside the batch is read from the store as before.
	lookup.single.Store(0)
	other := fullContact(contact.KindPerson)
	other.ID = 999
	if _, err := d.Decide(context.Background(), Input{Contact: other, Channel: "email", Purpose: contact.PurposeMarketing}); err != nil {
		t.Fatal(err)
	}
	if lookup.single.Load() == 0 {
		t.Error("a contact outside the prefetched batch was not looked up")
	}
}

// TestPrefetchWithoutBatchLookup returns the engine itself.
func TestPrefetchWithoutBatchLookup(t *testing.T) {
	e := newEngine(t, newMemLookup(), tuesday10(t))
	d, err := e.Prefetch(context.Background(), []*contact.Contact{fullContact(contact.KindPerson)}, []string{"email"}, contact.PurposeMarketing, nil)
	if err != nil || d != Decider(e) {
		t.Errorf("Prefetch = %v, %v; want the engine itself", d, err)
	}
}
