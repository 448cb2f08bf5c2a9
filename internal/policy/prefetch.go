package policy

import (
	"context"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// BatchLookup is a Lookup that also answers for many contacts at once,
// one query per kind; the store implements it. Every method must be safe
// for concurrent use.
type BatchLookup interface {
	Lookup
	// SuppressedKeys returns the keys of keys that are on the
	// suppression list, each with its most blocking reason (as
	// Suppressed reports it).
	SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error)
	// Consents returns the consent of each of contactIDs on
	// consentChannel for purpose, as Consent returns it one at a time
	// (Status Unknown when nothing is recorded).
	Consents(ctx context.Context, contactIDs []int64, consentChannel, purpose string) (map[int64]contact.ConsentState, error)
	// MarketingSentSinceMany returns MarketingSentSince of each of
	// contactIDs (a contact absent from the map has 0).
	MarketingSentSinceMany(ctx context.Context, contactIDs []int64, since time.Time) (map[int64]int, error)
}

// Prefetcher is a Decider that can read the lookups of many sends at
// once (Engine implements it).
type Prefetcher interface {
	// Prefetch returns a Decider for sends to cs on chans for purpose
	// whose lookups were all read when Prefetch ran.
	Prefetch(ctx context.Context, cs []*contact.Contact, chans []string, purpose string, capOverride *Cap) (Decider, error)
}

var _ Prefetcher = (*Engine)(nil)

// Prefetch reads, in one query per kind, every lookup Decide would make
// for sends to cs on chans for purpose (suppression of each address,
// marketing consent, the frequency cap's counts), and returns a Decider
// that answers them from that snapshot; anything else (another contact,
// channel or purpose) is read from the store as usual. It is meant for
// one batch of an expansion, decided right away: what changes in the
// store afterwards is not seen. Without a BatchLookup it returns e.
func (e *Engine) Prefetch(ctx context.Context, cs []*contact.Contact, chans []string, purpose string, capOverride *Cap) (Decider, error) {
	bl, ok := e.lookup.(BatchLookup)
	if !ok || len(cs) == 0 {
		return e, nil
	}
	marketing, err := isMarketing(purpose)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{next: e.lookup, purpose: contact.PurposeMarketing, suppressed: map[string]string{}, keys: map[string]bool{},
		consents: map[string]map[int64]contact.ConsentState{}}
	var keys []string
	var ids []int64
	seenID := map[int64]bool{}
	for _, c := range cs {
		if c.ID != 0 && !seenID[c.ID] {
			seenID[c.ID] = true
			ids = append(ids, c.ID)
		}
	}
	for _, ch := range chans {
		desc, ok := e.channels.Lookup(ch)
		if !ok {
			continue
		}
		for _, c := range cs {
			if desc.Address.Check(c) != nil {
				continue
			}
			k := contact.SuppressionKey(e.secret, desc.Address.Class, desc.Address.Normalized(c))
			if !snap.keys[k] {
				snap.keys[k] = true
				keys = append(keys, k)
			}
		}
		if !marketing || len(ids) == 0 || snap.consents[desc.ConsentKey] != nil {
			continue
		}
		got, err := bl.Consents(ctx, ids, desc.ConsentKey, contact.PurposeMarketing)
		if err != nil {
			return nil, wrapLookup("consent", err)
		}
		snap.consents[desc.ConsentKey] = got
	}
	if len(keys) > 0 {
		if snap.suppressed, err = bl.SuppressedKeys(ctx, keys); err != nil {
			return nil, wrapLookup("suppression", err)
		}
	}
	limit := e.rules.FrequencyCap
	if capOverride != nil {
		limit = *capOverride
	}
	if marketing && limit.N > 0 && len(ids) > 0 {
		if snap.sent, err = bl.MarketingSentSinceMany(ctx, ids, e.clock().Add(-limit.Per)); err != nil {
			return nil, wrapLookup("frequency cap", err)
		}
		snap.sentIDs = seenID
	}
	cp := *e
	cp.lookup = snap
	return &cp, nil
}

// snapshot answers the lookups Prefetch read, and passes the others on.
type snapshot struct {
	next       Lookup
	purpose    string
	keys       map[string]bool   // keys read
	suppressed map[string]string // of those, the suppressed ones
	consents   map[string]map[int64]contact.ConsentState
	sentIDs    map[int64]bool // contacts whose counts were read
	sent       map[int64]int
}

func (s *snapshot) Suppressed(ctx context.Context, key string) (bool, string, error) {
	if !s.keys[key] {
		return s.next.Suppressed(ctx, key)
	}
	why, ok := s.suppressed[key]
	return ok, why, nil
}

func (s *snapshot) Consent(ctx context.Context, contactID int64, consentChannel, purpose string) (contact.ConsentState, error) {
	if purpose == s.purpose {
		if st, ok := s.consents[consentChannel][contactID]; ok {
			return st, nil
		}
	}
	return s.next.Consent(ctx, contactID, consentChannel, purpose)
}

// MarketingSentSince answers with the count read at Prefetch, whose
// window started when Prefetch ran (since differs by the time between
// the two calls).
func (s *snapshot) MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error) {
	if s.sentIDs[contactID] {
		return s.sent[contactID], nil
	}
	return s.next.MarketingSentSince(ctx, contactID, since)
}
