package run

import (
	"context"
	"fmt"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
)

// DryRunResult is a Plan plus the outcome of rendering every message.
type DryRunResult struct {
	Result
	Rendered     int      `json:"rendered"`
	RenderErrors []string `json:"render_errors"` // "step/channel recipient #n: error"
}

// maxRenderErrors bounds the errors kept, so a broken template over a
// million recipients does not fill memory.
const maxRenderErrors = 100

// DryRun plans sp and renders each message that would be sent, writing and
// sending nothing, so per-recipient template failures show before a run.
func (p *Planner) DryRun(ctx context.Context, sp *campaign.Spec, comp *compose.Composer) (DryRunResult, error) {
	res := DryRunResult{Result: newResult(sp), RenderErrors: []string{}}
	n := 0
	err := p.walk(ctx, sp, &res.Result, func(batch []*contact.Contact) error {
		for _, c := range batch {
			n++
			for _, st := range initialSteps(sp) {
				ch, dec, err := p.choose(ctx, sp, st, c)
				if err != nil {
					return err
				}
				res.count(sp, ch, dec)
				if dec.Verdict == policy.Deny {
					continue
				}
				_, err = comp.Compose(compose.Input{Spec: sp, Step: st, Channel: ch, Contact: c, Now: p.now(),
					Links: compose.Links{Unsubscribe: "https://example.invalid/u/dry-run", View: "https://example.invalid/v/dry-run"}})
				if err != nil {
					if len(res.RenderErrors) < maxRenderErrors {
						res.RenderErrors = append(res.RenderErrors, fmt.Sprintf("%s/%s recipient #%d: %v", st.ID, ch, n, err))
					}
					continue
				}
				res.Rendered++
			}
		}
		return nil
	})
	return res, err
}
