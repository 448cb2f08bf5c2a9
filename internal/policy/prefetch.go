package policy

import (
	"context"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// BatchLookup is Lookup for many contacts or keys at once, one query per
// kind (the store implements it): an expansion batch or a send batch
// reads what all its decisions need before deciding any. Every method must
// be safe for concurrent use.
type BatchLookup interface {
	// SuppressedKeys returns the keys of keys that are on the
	// suppression list, each with its most blocking reason (as
	// Suppressed reports it).
	SuppressedKeys(ctx context.Context, keys []string) (map[string]string, error)
	// Consents returns the consent of each of ids on consentChannel for
	// purpose, as Consent returns it one at a time (Status Unknown when
	// nothing is recorded).
	Consents(ctx context.Context, ids []int64, consentChannel, purpose string) (map[int64]contact.ConsentState, error)
	// MarketingSentSinceMany returns MarketingSentSince of each of ids
	// (a contact absent from the map has 0).
	MarketingSentSinceMany(ctx context.Context, ids []int64, since time.Time) (map[int64]int, error)
}

// Prefetcher is a Decider that can read the lookups of many sends at once
// (Engine implements it).
type Prefetcher interface {
	Prefetch(ctx context.Context, cs []*contact.Contact, chans []string, purpose string, limit *Cap) (*Engine, error)
}

var _ Prefetcher = (*Engine)(nil)

// Prefetch reads, with one query per kind, every lookup that deciding
// sends of purpose to cs on chans will make — the suppression of each
// address, marketing consent, open-tracking consent on a tracked channel,
// the frequency cap's counts — and returns an engine answering from them:
// its Decide and TrackOpens give e's answers as read when Prefetch ran.
// Anything else (another contact, channel or purpose) is read through e's
// Lookup. The answers are never kept beyond the returned engine, which is
// meant for one batch decided right away: a write after Prefetch is seen
// by the next batch. An engine whose Lookup is not a BatchLookup returns
// itself; an unknown channel is skipped (Decide reports it).
func (e *Engine) Prefetch(ctx context.Context, cs []*contact.Contact, chans []string, purpose string, limit *Cap) (*Engine, error) {
	bl, ok := e.lookup.(BatchLookup)
	marketing, err := isMarketing(purpose)
	if !ok || err != nil || len(cs) == 0 {
		return e, nil // Decide reports a bad purpose
	}
	pf := &prefetched{next: e.lookup, asked: map[string]bool{}, ids: map[int64]bool{},
		consents: map[consentOf]map[int64]contact.ConsentState{}}
	var keys []string
	ids := make([]int64, 0, len(cs))
	for _, c := range cs {
		if c != nil && c.ID != 0 && !pf.ids[c.ID] {
			pf.ids[c.ID] = true
			ids = append(ids, c.ID)
		}
	}
	fetch := func(key, purpose string) error {
		if len(ids) == 0 || pf.consents[consentOf{key, purpose}] != nil {
			return nil
		}
		m, err := bl.Consents(ctx, ids, key, purpose)
		if err != nil {
			return wrapLookup("consent", err)
		}
		pf.consents[consentOf{key, purpose}] = m
		return nil
	}
	for _, ch := range chans {
		desc, known := e.channels.Lookup(ch)
		if !known {
			continue
		}
		for _, c := range cs {
			if c == nil || desc.Address.Check(c) != nil {
				continue
			}
			k := contact.SuppressionKey(e.secret, desc.Address.Class, desc.Address.Normalized(c))
			if !pf.asked[k] {
				pf.asked[k] = true
				keys = append(keys, k)
			}
		}
		if marketing {
			if err := fetch(desc.ConsentKey, contact.PurposeMarketing); err != nil {
				return nil, err
			}
		}
		if desc.Tracked && e.rules.OpenTracking != TrackAlways && e.rules.OpenTracking != TrackNever {
			if err := fetch(desc.ConsentKey, contact.PurposeOpenTracking); err != nil {
				return nil, err
			}
		}
	}
	if len(keys) > 0 {
		if pf.suppressed, err = bl.SuppressedKeys(ctx, keys); err != nil {
			return nil, wrapLookup("suppression", err)
		}
	}
	l := e.rules.FrequencyCap
	if limit != nil {
		l = *limit
	}
	if marketing && l.N > 0 && len(ids) > 0 {
		pf.since = e.clock().Add(-l.Per)
		if pf.sent, err = bl.MarketingSentSinceMany(ctx, ids, pf.since); err != nil {
			return nil, wrapLookup("frequency cap", err)
		}
		pf.counted = true
	}
	cp := *e
	cp.lookup = pf
	return &cp, nil
}

type consentOf struct{ channel, purpose string }

// prefetched answers a Lookup from what Prefetch read, and asks next for
// anything else.
type prefetched struct {
	next       Lookup
	asked      map[string]bool   // suppression keys read
	suppressed map[string]string // of those, the listed ones
	ids        map[int64]bool    // contacts whose consents and counts were read
	consents   map[consentOf]map[int64]contact.ConsentState
	since      time.Time // start of the counted window
	counted    bool      // the frequency-cap counts were read
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
		if st, ok := m[id]; ok {
			return st, nil
		}
		return contact.ConsentState{Status: contact.Unknown}, nil
	}
	return p.next.Consent(ctx, id, consentChannel, purpose)
}

// MarketingSentSince answers from the prefetched count when since is not
// before the counted window's start: the window read is then the same or
// a few milliseconds wider, which can only count more (the safe side).
func (p *prefetched) MarketingSentSince(ctx context.Context, id int64, since time.Time) (int, error) {
	if p.counted && p.ids[id] && !since.Before(p.since) {
		return p.sent[id], nil
	}
	return p.next.MarketingSentSince(ctx, id, since)
}
