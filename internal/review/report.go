package review

import (
	"context"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/policy"
)

// Report is the review of every campaign a change touches.
type Report struct {
	Base       string     `json:"base"`        // the ref given (or the merge base)
	BaseCommit string     `json:"base_commit"` // its commit
	Campaigns  []Campaign `json:"campaigns"`
	// Failed names each failing check as campaign:check[:step].
	Failed []string `json:"failed"`
}

// Campaign is the review of one campaign file.
type Campaign struct {
	ID     string `json:"id"`
	Path   string `json:"path"`   // relative to the repository root
	Status string `json:"status"` // new, changed, removed
	// Errors are validation errors of the proposed version (path:line:col).
	Errors    []string       `json:"errors"`
	BaseHash  string         `json:"base_hash,omitempty"`
	HeadHash  string         `json:"head_hash,omitempty"`
	Steps     []StepDiff     `json:"steps"`
	Currency  string         `json:"currency,omitempty"`
	BaseCost  float64        `json:"base_cost"`
	Cost      float64        `json:"estimated_cost"`
	SMS       []SegmentStats `json:"sms"`
	Previews  []Preview      `json:"previews"`
	Checks    []Check        `json:"checks"`
	Timezone  string         `json:"timezone,omitempty"`
	Firings   []time.Time    `json:"next_firings"`
	Links     []LinkChange   `json:"links"`
	RowErrors int            `json:"invalid_audience_rows,omitempty"`
}

// StepDiff is one step's audience in both versions.
type StepDiff struct {
	Step   string     `json:"step"`
	Base   *StepStats `json:"base,omitempty"`
	Head   StepStats  `json:"head"`
	Change Change     `json:"recipients"`
}

// Input is one campaign to review: its proposed version (nil when the
// change removes it) and its base version (nil when it is new), with the
// validation errors of the proposed file.
type Input struct {
	Path       string
	Head, Base *campaign.Spec
	Errors     []string
}

// Options configure Review.
type Options struct {
	Env     Env
	Rules   policy.Rules
	Preview PreviewOptions
}

// Review plans both versions of in against the same contact base and
// policy and assembles the campaign's review.
func Review(ctx context.Context, in Input, o Options) (Campaign, error) {
	c := Campaign{Path: in.Path, Errors: in.Errors, Status: "changed"}
	if c.Errors == nil {
		c.Errors = []string{}
	}
	switch {
	case in.Head == nil && in.Base != nil && len(in.Errors) == 0:
		c.ID, c.Status, c.BaseHash = in.Base.ID, "removed", in.Base.ContentHash
		return c, nil
	case in.Head == nil:
		// Invalid: the validation errors that are compliance rules are
		// reported as their checks too.
		if in.Base != nil {
			c.ID, c.BaseHash = in.Base.ID, in.Base.ContentHash
		} else {
			c.ID = strings.TrimSuffix(path.Base(in.Path), path.Ext(in.Path))
		}
		c.Checks = checksFromErrors(in.Errors)
		return c, nil
	case in.Base == nil:
		c.Status = "new"
	default:
		c.BaseHash = in.Base.ContentHash
	}
	sp := in.Head
	c.ID, c.HeadHash, c.Currency = sp.ID, sp.ContentHash, sp.Cost.Currency
	head, err := PlanVersion(ctx, sp, o.Env)
	if err != nil {
		return c, err
	}
	c.RowErrors = head.RowErrors
	var base *Plan
	if in.Base != nil {
		if base, err = PlanVersion(ctx, in.Base, o.Env); err != nil {
			return c, err
		}
		c.BaseCost = base.Cost()
	}
	c.Cost = head.Cost()
	for _, st := range sp.Steps {
		d := StepDiff{Step: st.ID, Head: head.Stats(st.ID), Change: Compare(base, head, st.ID)}
		if base != nil && base.Spec.Step(st.ID) != nil {
			bs := base.Stats(st.ID)
			d.Base = &bs
		}
		c.Steps = append(c.Steps, d)
	}
	c.SMS = head.Segments()
	c.Previews = Previews(ctx, sp, head.Samples, o.Preview)
	if base != nil {
		markChanged(c.Previews, Previews(ctx, in.Base, head.Samples, PreviewOptions{Now: o.Preview.Now, Layout: o.Preview.Layout, Channels: o.Preview.Channels}))
	} else {
		markChanged(c.Previews, nil)
	}
	if sp.Schedule != nil {
		c.Timezone = sp.Schedule.Timezone
	}
	if c.Firings, err = Firings(sp, o.Env.Now, 5); err != nil {
		c.Errors = append(c.Errors, err.Error())
	}
	c.Checks = Checks(sp, o.Rules, c.Firings)
	var baseSpec *campaign.Spec
	if in.Base != nil {
		baseSpec = in.Base
	}
	c.Links = CompareLinks(baseSpec, sp)
	return c, nil
}

// markChanged flags each preview whose text differs from the base
// version's preview of the same step, channel and sample.
func markChanged(head, base []Preview) {
	idx := map[[3]any]Preview{}
	for _, p := range base {
		idx[[3]any{p.Step, p.Channel, p.Sample}] = p
	}
	for i := range head {
		b, ok := idx[[3]any{head[i].Step, head[i].Channel, head[i].Sample}]
		head[i].Changed = !ok || b.Subject != head[i].Subject || b.Text != head[i].Text
	}
}

// Finish computes r.Failed from the campaigns' errors and checks.
func (r *Report) Finish() {
	r.Failed = []string{}
	for _, c := range r.Campaigns {
		if len(c.Errors) > 0 {
			r.Failed = append(r.Failed, c.ID+":"+CheckValid)
		}
		for _, ch := range c.Checks {
			if ch.Failed() {
				name := c.ID + ":" + ch.Name
				if ch.Step != "" {
					name += ":" + ch.Step
				}
				r.Failed = append(r.Failed, name)
			}
		}
	}
	sort.Strings(r.Failed)
}

// checksFromErrors maps the validation errors that enforce a compliance
// rule to the check of that rule, so an invalid campaign names it too.
func checksFromErrors(errs []string) []Check {
	out := []Check{}
	for _, e := range errs {
		if strings.Contains(e, "no STOP opt-out mention") {
			out = append(out, Check{Name: CheckSMSStop, Status: statusFail, Detail: e})
		}
	}
	return out
}
