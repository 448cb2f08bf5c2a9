package store

import "strings"

// State is a send ledger state. A row moves
// planned → claimed → submitting → accepted → delivered | bounced | failed,
// or planned/claimed → refused (with a reason), or submitting → ambiguous
// when a retry finds it mid-submission, or planned/deferred/claimed →
// canceled when an operator cancels the run. On a spooled channel (print)
// a letter moves submitting → spooled, then spooled → accepted once its
// batch passed the preflight, or spooled → failed (reason
// "print_preflight: …") when its batch was rejected. Transitions lists every allowed
// move; this file is the only place the state machine is written down.
type State string

// Ledger states.
const (
	Planned    State = "planned"    // row created, task enqueued (or to enqueue)
	Deferred   State = "deferred"   // allowed later (quiet hours): task scheduled for NotBefore
	Claimed    State = "claimed"    // a worker owns it and is checking policy and rendering
	Submitting State = "submitting" // the provider call is in progress
	Spooled    State = "spooled"    // a letter waits in the print spool for its batch's preflight
	Accepted   State = "accepted"   // the provider accepted it (ProviderID set)
	Delivered  State = "delivered"  // the provider reported delivery
	Bounced    State = "bounced"    // hard bounce after acceptance
	Failed     State = "failed"     // permanent failure before acceptance
	Refused    State = "refused"    // not sent: policy or input refused it (Reason set)
	Ambiguous  State = "ambiguous"  // held for review: may or may not have been sent
	Canceled   State = "canceled"   // not sent: an operator canceled the run (Reason set)
)

// States lists every ledger state, in the order of the life of a row.
// Callers must not modify it.
var States = []State{Planned, Deferred, Claimed, Submitting, Spooled, Accepted, Delivered, Bounced, Failed, Refused, Ambiguous, Canceled}

// NonTerminal lists the states a worker will still act on: a run is not
// finished while a row is in one, and a worker may claim a row from any
// of them (a retry of a crashed attempt). Callers must not modify it.
var NonTerminal = []State{Planned, Deferred, Claimed, Submitting}

// MaybeSent lists the states of a row whose message may have reached the
// provider: the frequency cap counts them and the API's last touch looks
// for them. Callers must not modify it.
var MaybeSent = []State{Submitting, Spooled, Accepted, Delivered, Bounced, Ambiguous}

// Taken lists the states of a message the provider took (reports' "sent").
// Callers must not modify it.
var Taken = []State{Accepted, Delivered, Bounced}

// Transitions maps a state to the states a row may move to from it. A
// worker claims a non-terminal row (Claimed → Claimed is a retry), gives
// it back (Planned, Deferred) or settles it; only a delivery report moves
// an accepted row. Store.Transition does not consult it (its from list is
// the caller's guard, and tests take shortcuts): it is the reference the
// callers' moves are reviewed against. Callers must not modify it.
var Transitions = map[State][]State{
	Planned:    {Claimed, Canceled},
	Deferred:   {Claimed, Canceled},
	Claimed:    {Claimed, Planned, Deferred, Submitting, Refused, Failed, Canceled},
	Submitting: {Claimed, Spooled, Accepted, Failed, Ambiguous},
	Spooled:    {Accepted, Failed},
	Accepted:   {Delivered, Bounced, Failed},
}

// Terminal reports whether no worker will act on a row in state s again.
func (s State) Terminal() bool {
	for _, n := range NonTerminal {
		if s == n {
			return false
		}
	}
	return true
}

// Due counts, in CountLedger's counts, the rows a worker has to act on
// now: the non-terminal ones except deferred rows, which wait for their
// time.
func Due(counts map[string]int) int {
	n := 0
	for _, s := range NonTerminal {
		if s != Deferred {
			n += counts[string(s)]
		}
	}
	return n
}

// CanMove reports whether Transitions allows a row in state from to move
// to state to.
func CanMove(from, to State) bool {
	for _, t := range Transitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// SQLList returns states as an SQL list literal, "('a', 'b')", for
// queries that test a fixed set of states.
func SQLList(states []State) string {
	q := make([]string, len(states))
	for i, s := range states {
		q[i] = "'" + string(s) + "'"
	}
	return "(" + strings.Join(q, ", ") + ")"
}
