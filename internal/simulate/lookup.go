package simulate

import (
	"context"
	"sync"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
)

// lookup is the policy engine's view of the simulated world: the real
// contact base's consent and suppression list read through base (never
// written), overlaid with the opt-outs and bounces of the scenario, and
// the frequency cap counted over simulated sends only.
type lookup struct {
	base policy.Lookup // nil: nothing recorded outside the simulation
	// stored says which contact ids are real store ids (file audiences
	// get simulation ids the store does not know).
	stored map[int64]bool

	mu         sync.Mutex
	suppressed map[string]string
	sent       map[int64][]time.Time
}

func newLookup(base policy.Lookup) *lookup {
	return &lookup{base: base, stored: map[int64]bool{}, suppressed: map[string]string{}, sent: map[int64][]time.Time{}}
}

// Consent reads a stored contact's record; simulation ids have none (the
// engine then uses the consent the audience file carries).
func (l *lookup) Consent(ctx context.Context, contactID int64, ch, purpose string) (contact.ConsentState, error) {
	if l.base == nil || !l.stored[contactID] {
		return contact.ConsentState{Status: contact.Unknown}, nil
	}
	return l.base.Consent(ctx, contactID, ch, purpose)
}

// Suppressed sees the scenario's opt-outs and bounces first, then the
// real list.
func (l *lookup) Suppressed(ctx context.Context, key string) (bool, string, error) {
	l.mu.Lock()
	why, ok := l.suppressed[key]
	l.mu.Unlock()
	if ok {
		return true, why, nil
	}
	if l.base == nil {
		return false, "", nil
	}
	return l.base.Suppressed(ctx, key)
}

// MarketingSentSince counts the simulated sends only: the real history is
// dated on the real clock, not the virtual one.
func (l *lookup) MarketingSentSince(_ context.Context, contactID int64, since time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.sent[contactID] {
		if !t.Before(since) {
			n++
		}
	}
	return n, nil
}

func (l *lookup) suppress(key, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.suppressed[key]; !ok {
		l.suppressed[key] = why
	}
}

func (l *lookup) recordSent(contactID int64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent[contactID] = append(l.sent[contactID], at)
}
