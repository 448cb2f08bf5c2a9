package policy

import "context"

// Decider is the policy check as its callers see it (Engine implements
// it): planning and the send path both decide through it, so tests and
// dry runs can substitute a fixed verdict.
type Decider interface {
	Decide(ctx context.Context, in Input) (Decision, error)
}

var _ Decider = (*Engine)(nil)
