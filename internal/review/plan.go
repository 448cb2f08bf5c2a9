// Package review compares two versions of a campaign (the one proposed in
// a pull request and the one on the base branch) and reports what a
// reviewer needs to approve it: who receives what, what it costs, what the
// messages look like, and whether the compliance rules hold.
package review

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/segments"
	"github.com/relais-dev/relais/internal/store"
)

// Env is what planning a version needs: the contact store (audiences from
// the contact base; read only), the policy engine and the clock.
type Env struct {
	Store  store.Store
	Policy policy.Decider
	Now    time.Time
	// Channels compose the messages (nil: the built-in channels).
	Channels *channel.Registry
}

// composer returns a composer over env's channels.
func (env Env) composer() *compose.Composer {
	c := compose.NewComposer()
	c.Channels = env.Channels
	return c
}

// Outcome is where one recipient's message of one step goes: a channel, or
// a refusal reason.
type Outcome struct {
	Channel string
	Reason  string // empty when the message is planned
	// Segments is the SMS/MMS segment count of the rendered text.
	Segments int
	Encoding string
}

// Plan is one version of a campaign planned recipient by recipient.
// Recipients are keyed by external id (else email, else phone), so two
// versions can be compared without printing who they are.
type Plan struct {
	Spec *campaign.Spec
	// Steps maps a step id to a recipient key to its outcome. Follow-up
	// steps are planned as if their condition held (the most they send).
	Steps map[string]map[string]Outcome
	// Samples are the first recipients planned on each channel, for
	// previews.
	Samples   map[string][]*contact.Contact
	RowErrors int
}

// maxSamples is the number of sample recipients kept per channel.
const maxSamples = 2

// PlanVersion plans every step of sp for every recipient of its audience,
// writing nothing.
func PlanVersion(ctx context.Context, sp *campaign.Spec, env Env) (*Plan, error) {
	p := &Plan{Spec: sp, Steps: map[string]map[string]Outcome{}, Samples: map[string][]*contact.Contact{}}
	for _, st := range sp.Steps {
		p.Steps[st.ID] = map[string]Outcome{}
	}
	src, err := campaignrun.Source(sp, env.Store, func(audience.RowError) { p.RowErrors++ })
	if err != nil {
		return nil, err
	}
	sel, err := campaignrun.Selector(sp)
	if err != nil {
		return nil, err
	}
	comp := env.composer()
	n := 0
	err = sel.Stream(ctx, src, func(c *contact.Contact) error {
		c.Normalize()
		n++
		key := recipientKey(c, n)
		for i := range sp.Steps {
			st := &sp.Steps[i]
			ch, dec, err := choose(ctx, env, sp, st, c)
			if err != nil {
				return err
			}
			o := Outcome{Channel: ch}
			if dec.Verdict == policy.Deny {
				o.Reason = dec.Reason
			} else {
				if len(p.Samples[ch]) < maxSamples && !hasSample(p.Samples[ch], c) {
					p.Samples[ch] = append(p.Samples[ch], c)
				}
				if ch == "sms" || ch == "mms" {
					m, err := comp.Compose(compose.Input{Spec: sp, Step: st, Channel: ch, Contact: c, Now: env.Now, Links: placeholderLinks})
					if err == nil {
						o.Encoding, o.Segments = segments.Count(m.Text)
					}
				}
			}
			p.Steps[st.ID][key] = o
		}
		return nil
	})
	return p, err
}

func hasSample(cs []*contact.Contact, c *contact.Contact) bool {
	for _, s := range cs {
		if s == c {
			return true
		}
	}
	return false
}

// placeholderLinks stand for the signed per-recipient links, as long as
// real ones, so texts measure as they will be sent.
var placeholderLinks = compose.Links{
	Unsubscribe: "https://relais.example/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	View:        "https://relais.example/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
}

// recipientKey identifies c across two versions of the audience.
func recipientKey(c *contact.Contact, n int) string {
	switch {
	case c.ExternalID != "":
		return "id:" + c.ExternalID
	case c.Email != "":
		return "email:" + c.Email
	case c.Phone != "":
		return "phone:" + c.Phone
	}
	return fmt.Sprintf("row:%d", n)
}

// choose picks the step's channel for c as the run planner does: the first
// channel in preference order the policy allows or defers, else the most
// telling refusal.
func choose(ctx context.Context, env Env, sp *campaign.Spec, st *campaign.Step, c *contact.Contact) (string, policy.Decision, error) {
	var at time.Time
	if st.At != nil {
		at = *st.At
	}
	ch, dec, err := policy.Choose(ctx, sp.ChannelsFor(st), func(ctx context.Context, ch string) (policy.Decision, error) {
		dec, err := env.Policy.Decide(ctx, policy.Input{Contact: c, Channel: ch, Purpose: sp.Purpose, Stage: policy.Plan, At: at,
			FrequencyCap: compose.CapOf(sp)})
		if err != nil {
			return dec, fmt.Errorf("policy: %w", err)
		}
		return dec, nil
	})
	return ch, dec, err
}

// StepStats summarizes one step of one version.
type StepStats struct {
	Step      string         `json:"step"`
	FollowUp  bool           `json:"follow_up,omitempty"`
	Planned   int            `json:"planned"`
	ByChannel map[string]int `json:"by_channel"`
	Refused   int            `json:"refused"`
	ByReason  map[string]int `json:"by_reason"`
	Cost      float64        `json:"estimated_cost"`
}

// Stats counts step st of p. SMS and MMS cost their unit price per
// segment, as providers bill them.
func (p *Plan) Stats(stepID string) StepStats {
	s := StepStats{Step: stepID, ByChannel: map[string]int{}, ByReason: map[string]int{}}
	if st := p.Spec.Step(stepID); st != nil {
		s.FollowUp = st.After > 0 || st.When != ""
	}
	for _, o := range p.Steps[stepID] {
		if o.Reason != "" {
			s.Refused++
			s.ByReason[o.Reason]++
			continue
		}
		s.Planned++
		s.ByChannel[o.Channel]++
		units := 1
		if o.Segments > 0 {
			units = o.Segments
		}
		s.Cost += float64(units) * p.Spec.Cost.PerUnit[o.Channel]
	}
	return s
}

// Cost is the estimated cost of every step of p.
func (p *Plan) Cost() float64 {
	var c float64
	for _, st := range p.Spec.Steps {
		c += p.Stats(st.ID).Cost
	}
	return c
}

// Change compares the recipients planned on one step in two versions.
type Change struct {
	New       int `json:"new"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
	// Moved counts recipients kept whose channel changed.
	Moved int `json:"channel_changed"`
}

// Compare compares step stepID's planned recipients of base (nil: a new
// campaign) and head.
func Compare(base, head *Plan, stepID string) Change {
	var ch Change
	planned := func(p *Plan) map[string]string {
		out := map[string]string{}
		if p == nil {
			return out
		}
		for k, o := range p.Steps[stepID] {
			if o.Reason == "" {
				out[k] = o.Channel
			}
		}
		return out
	}
	b, h := planned(base), planned(head)
	for k, c := range h {
		bc, ok := b[k]
		switch {
		case !ok:
			ch.New++
		case bc != c:
			ch.Moved++
			ch.Unchanged++
		default:
			ch.Unchanged++
		}
	}
	for k := range b {
		if _, ok := h[k]; !ok {
			ch.Removed++
		}
	}
	return ch
}

// SegmentStats is the SMS length of one step's text over its recipients.
type SegmentStats struct {
	Step     string `json:"step"`
	Channel  string `json:"channel"`
	Encoding string `json:"encoding"`
	Min      int    `json:"min_segments"`
	Max      int    `json:"max_segments"`
}

// Segments returns the segment range and encoding per SMS/MMS step of p
// over every planned recipient (UCS-2 when any text needs it).
func (p *Plan) Segments() []SegmentStats {
	var out []SegmentStats
	for i := range p.Spec.Steps {
		st := &p.Spec.Steps[i]
		for _, ch := range []string{"sms", "mms"} {
			var s *SegmentStats
			for _, o := range p.Steps[st.ID] {
				if o.Reason != "" || o.Channel != ch || o.Segments == 0 {
					continue
				}
				if s == nil {
					s = &SegmentStats{Step: st.ID, Channel: ch, Encoding: o.Encoding, Min: o.Segments, Max: o.Segments}
				}
				s.Min, s.Max = min(s.Min, o.Segments), max(s.Max, o.Segments)
				if o.Encoding != s.Encoding {
					s.Encoding = segments.UCS2
				}
			}
			if s != nil {
				out = append(out, *s)
			}
		}
	}
	return out
}
