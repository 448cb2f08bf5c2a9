package followup

import (
	"fmt"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// eventSet is one recipient's events in one run.
type eventSet []store.Event

// has reports an event of one of types on step (any step when "").
// Machine opens and clicks (privacy proxies, link scanners) do not count:
// they say nothing about the person.
func (es eventSet) has(step string, types ...string) bool {
	for i := range es {
		e := &es[i]
		if e.Machine || (step != "" && e.StepID != step) {
			continue
		}
		for _, t := range types {
			if e.Type == t {
				return true
			}
		}
	}
	return false
}

// stopped reports a recipient who needs no more marketing steps: they
// answered (a response, an SMS reply, a conversion) or opted out.
func (es eventSet) stopped() bool {
	return es.has("", store.EventResponded, store.EventReplied, store.EventConverted, store.EventUnsubscribed)
}

// env is what a when expression sees: the contact as audience
// expressions see it, plus the event functions of campaign.EventFuncs
// bound to the recipient's events.
func (es eventSet) env(c *contact.Contact) map[string]any {
	env := audience.Env(c)
	step := func(types ...string) func(string) bool {
		return func(id string) bool { return es.has(id, types...) }
	}
	anyStep := func(types ...string) func() bool {
		return func() bool { return es.has("", types...) }
	}
	env["opened"] = step(store.EventOpened)
	env["clicked"] = step(store.EventClicked)
	env["delivered"] = step(store.EventDelivered)
	env["responded"] = anyStep(store.EventResponded, store.EventReplied)
	env["converted"] = anyStep(store.EventConverted)
	env["unsubscribed"] = anyStep(store.EventUnsubscribed)
	return env
}

// typeEnv is the environment when expressions are compiled against: the
// same names and types as at run time (and as campaign validation
// declares them).
func typeEnv() map[string]any {
	env := audience.Env(nil)
	for _, f := range campaign.EventFuncs {
		switch f {
		case "opened", "clicked", "delivered":
			env[f] = func(string) bool { return false }
		default:
			env[f] = func() bool { return false }
		}
	}
	return env
}

// programs caches compiled when expressions by campaign version and step.
type programs struct{ m sync.Map } // key string → *vm.Program

// eval evaluates step st's when expression for contact c over evs.
func (s *Scheduler) eval(sp *campaign.Spec, st *campaign.Step, c *contact.Contact, evs eventSet) (bool, error) {
	key := sp.ID + "\x00" + sp.ContentHash + "\x00" + st.ID
	var prog *vm.Program
	if p, ok := s.progs.m.Load(key); ok {
		prog = p.(*vm.Program)
	} else {
		var err error
		if prog, err = expr.Compile(st.When, expr.Env(typeEnv()), expr.AsBool()); err != nil {
			return false, fmt.Errorf("step %s: bad when expression: %w", st.ID, err)
		}
		s.progs.m.Store(key, prog)
	}
	out, err := expr.Run(prog, evs.env(c))
	if err != nil {
		// expr's run-time messages can quote the contact's values: keep
		// them out of errors, which reach logs and Redis.
		return false, fmt.Errorf("step %s: when expression failed on this recipient's data", st.ID)
	}
	b, _ := out.(bool) // AsBool guarantees it
	return b, nil
}
