package followup

import (
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Eval evaluates step st's when expression for contact c over events, with
// the code the follow-up handler uses, so that a simulation of a campaign
// decides exactly as a real run would. A step without when is true.
func Eval(sp *campaign.Spec, st *campaign.Step, c *contact.Contact, events []store.Event) (bool, error) {
	if st.When == "" {
		return true, nil
	}
	var s Scheduler
	return s.eval(sp, st, c, eventSet(events))
}

// Stopped reports whether events hold an answer or an opt-out after which
// a marketing campaign sends that recipient no more follow-ups.
func Stopped(events []store.Event) bool { return eventSet(events).stopped() }
