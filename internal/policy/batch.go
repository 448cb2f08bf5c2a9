package policy

import (
	"context"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// BatchLookup is Lookup for many contacts or keys at once, one query each
// (the store implements it): the batched send path reads what the
// decisions of a whole batch need before deciding any.
type BatchLookup interface {
	SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error)
	Consents(ctx context.Context, ids []int64, consentChannel, purpose string) (map[int64]contact.ConsentState, error)
	MarketingSentSinceMany(ctx context.Context, ids []int64, since time.Time) (map[int64]int, error)
}

// Prefetcher is a Decider that can read a batch's lookups up front
// (Engine implements it when its Lookup is also a BatchLookup).
type Prefetcher interface {
	Prefetch(ctx context.Context, cs []*contact.Contact, channel, purpose string, limit *Cap) (*Engine, error)
}

var _ Prefetcher = (*Engine)(nil)

// Prefetch reads, with one query each, the suppressions, consents
// (marketing, and open tracking on a tracked channel) and frequency-cap
// counts that deciding sends of purpose on channel to cs will ask for, and
// returns an engine answering from them: its Decide and TrackOpens give
// the answers of e read at the time of Prefetch. Anything not prefetched
// is read through e's Lookup. The answers are never kept beyond the
// returned engine, which is meant for one batch: a write after Prefetch
// is seen by the next batch. An engine whose Lookup is not a BatchLookup
// returns itself.
func (e *Engine) Prefetch(ctx context.Context, cs []*contact.Contact, channel, purpose string, limit *Cap) (*Engine, error) {
	bl, ok := e.lookup.(BatchLookup)
	desc, known := e.channels.Lookup(channel)
	marketing, err := isMarketing(purpose)
	if !ok || !known || err != nil {
		return e, nil // Decide reports a bad channel or purpose
	}
	pf := &prefetched{next: e.lookup, asked: map[string]bool{}, consents: map[consentOf]map[int64]contact.ConsentState{}}
	var keys []string
	ids := make([]int64, 0, len(cs))
	for _, c := range cs {
		if c == nil {
			continue
		}
		if c.ID != 0 {
			ids = append(ids, c.ID)
		}
		if desc.Address.Check(c) == nil {
			k := contact.SuppressionKey(e.secret, desc.Address.Class, desc.Address.Normalized(c))
			if !pf.asked[k] {
				pf.asked[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) > 0 {
		if pf.suppressed, err = bl.SuppressedKeys(ctx, keys); err != nil {
			return nil, wrapLookup("suppression", err)
		}
	}
	if len(ids) == 0 {
		return e.with(pf), nil
	}
	fetch := func(key, purpose string) error {
		m, err := bl.Consents(ctx, ids, key, purpose)
		if err != nil {
			return wrapLookup("consent", err)
		}
		pf.consents[consentOf{key, purpose}] = m
		return nil
	}
	if marketing {
		if err := fetch(desc.ConsentKey, contact.PurposeMarketing); err != nil {
			return nil, err
		}
		l := e.rules.FrequencyCap
		if limit != nil {
			l = *limit
		}
		if l.N > 0 {
			pf.since = e.clock().Add(-l.Per)
			if pf.sent, err = bl.MarketingSentSinceMany(ctx, ids, pf.since); err != nil {
				return nil, wrapLookup("frequency cap", err)
			}
			pf.counted = make(map[int64]bool, len(ids))
			for _, id := range ids {
				pf.counted[id] = true
			}
		}
	}
	if desc.Tracked && e.rules.OpenTracking != TrackAlways && e.rules.OpenTracking != TrackNever {
		if err := fetch(desc.ConsentKey, contact.PurposeOpenTracking); err != nil {
			return nil, err
		}
	}
	pf.ids = make(map[int64]bool, len(ids))
	for _, id := range ids {
		pf.ids[id] = true
	}
	return e.with(pf), nil
}

// with returns a copy of e reading through l.
func (e *Engine) with(l Lookup) *Engine {
	cp := *e
	cp.lookup = l
	return &cp
}

type consentOf struct{ channel, purpose string }

// prefetched answers a Lookup from what Prefetch read, and asks next for
// anything else.
type prefetched struct {
	next       Lookup
	asked      map[string]bool   // suppression keys read
	suppressed map[string]string // of those, the listed ones
	ids        map[int64]bool    // contacts whose consents were read
	consents   map[consentOf]map[int64]contact.ConsentState
	since      time.Time // start of the counted window
	counted    map[int64]bool
	sent       map[int64]int
}

func (p *prefetched) Suppressed(ctx context.Context, key string) (bool, string, error) {
	if p.asked[key] {
		why, ok := p.suppressed[key]
		return ok, why, nil
	}
	return p.next.Suppressed(ctx, key)
}

func (p *prefetched) Consent(ctx context.Context, id int64, consentChannel, purpose string) (contact.ConsentState, error) {
	if m, ok := p.consents[consentOf{consentChannel, purpose}]; ok && p.ids[id] {
		return m[id], nil // absent: nothing recorded (Unknown)
	}
	return p.next.Consent(ctx, id, consentChannel, purpose)
}

// MarketingSentSince answers from the prefetched count when since is not
// before the counted window's start: the window read is then the same or
// a few milliseconds wider, which can only count more (the safe side).
func (p *prefetched) MarketingSentSince(ctx context.Context, id int64, since time.Time) (int, error) {
	if p.counted[id] && !since.Before(p.since) {
		return p.sent[id], nil
	}
	return p.next.MarketingSentSince(ctx, id, since)
}
