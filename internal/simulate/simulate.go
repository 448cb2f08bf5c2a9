// Package simulate plays a campaign on a virtual clock: its schedule, its
// steps and follow-ups (after/when, evaluated by the follow-up code of a
// real run), channel fallbacks, quiet hours and frequency caps decided by
// the real policy engine, against a read-only copy of the contact base
// and a scenario of recipient events. Nothing is written or sent.
package simulate

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/followup"
	"github.com/relais-dev/relais/internal/policy"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/scheduler"
	"github.com/relais-dev/relais/internal/store"
)

// Options configure a simulation.
type Options struct {
	// From and Days bound the virtual time simulated.
	From time.Time
	Days int
	// Rules are the policy rules; Secret the suppression-key secret (the
	// real one, so the real suppression list matches).
	Rules  policy.Rules
	Secret []byte
	// Store is the contact base (audiences from contacts) and Lookup the
	// consent and suppression records; both are only read. Either may be
	// nil for a file audience.
	Store  store.Store
	Lookup policy.Lookup
	// Scenario is what recipients do; nil: nothing.
	Scenario *Scenario
	// Channels are the process's channels (nil: the built-in ones).
	Channels *channel.Registry
}

// Actions of a timeline entry.
const (
	ActionSent     = "sent"
	ActionDeferred = "deferred"
	ActionRefused  = "refused"
	ActionSkipped  = "skipped" // when condition false
	ActionStopped  = "stopped" // the recipient answered or opted out
	ActionEvent    = "event"   // a scenario event
)

// Entry is one thing that happened to one recipient.
type Entry struct {
	At      time.Time `json:"at"`
	Run     int       `json:"run"` // 1-based: the schedule's firing
	Step    string    `json:"step,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Action  string    `json:"action"`
	Detail  string    `json:"detail,omitempty"`
}

// Timeline is one recipient's entries in time order.
type Timeline struct {
	Recipient string  `json:"recipient"`
	Entries   []Entry `json:"entries"`
}

// Result is the outcome of a simulation.
type Result struct {
	Campaign  string      `json:"campaign"`
	From      time.Time   `json:"from"`
	Until     time.Time   `json:"until"`
	Runs      []time.Time `json:"runs"`
	Timelines []Timeline  `json:"timelines"`
	Steps     []StepTotal `json:"steps"`
	Days      []DayTotal  `json:"days"`
}

// StepTotal counts one step's outcomes.
type StepTotal struct {
	Step      string         `json:"step"`
	Sent      int            `json:"sent"`
	ByChannel map[string]int `json:"by_channel"`
	Deferred  int            `json:"deferred"`
	Refused   map[string]int `json:"refused"`
	Skipped   int            `json:"skipped"`
	Stopped   int            `json:"stopped"`
}

// DayTotal counts the messages sent on one day (in the rules' zone).
type DayTotal struct {
	Day  string         `json:"day"`
	Sent map[string]int `json:"sent"` // by step
}

// recipient is one contact in one simulated run.
type recipient struct {
	key      string
	c        *contact.Contact
	events   []store.Event
	lastStep string
	lastCh   string
	timeline *Timeline
}

// task is a step falling due for a recipient.
type task struct {
	at   time.Time
	seq  int
	run  int
	r    *recipient
	step *campaign.Step
	ch   string // set when re-tried after a deferral
	ev   *ScenarioEvent
}

type queue []*task

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*task)) }
func (q *queue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}

// sim is one simulation in progress.
type sim struct {
	sp     *campaign.Spec
	o      Options
	now    time.Time
	until  time.Time
	engine *policy.Engine
	look   *lookup
	q      queue
	seq    int
	// runs[i] maps a recipient key to its state in run i+1.
	runs      []map[string]*recipient
	timelines map[string]*Timeline
	order     []string
	totals    map[string]*StepTotal
	days      map[string]map[string]int
	loc       *time.Location
}

// Run simulates sp under o.
func Run(ctx context.Context, sp *campaign.Spec, o Options) (*Result, error) {
	if o.Days <= 0 {
		return nil, errors.New("days must be at least 1")
	}
	s := &sim{sp: sp, o: o, now: o.From, until: o.From.AddDate(0, 0, o.Days), look: newLookup(o.Lookup),
		timelines: map[string]*Timeline{}, totals: map[string]*StepTotal{}, days: map[string]map[string]int{}}
	var err error
	var opts []policy.Option
	if o.Channels != nil {
		opts = append(opts, policy.WithChannels(o.Channels))
	}
	if s.engine, err = policy.New(o.Rules, s.look, o.Secret, func() time.Time { return s.now }, opts...); err != nil {
		return nil, err
	}
	if s.loc, err = time.LoadLocation(o.Rules.Timezone); err != nil {
		return nil, err
	}
	for _, st := range sp.Steps {
		s.totals[st.ID] = &StepTotal{Step: st.ID, ByChannel: map[string]int{}, Refused: map[string]int{}}
	}
	starts, err := s.starts()
	if err != nil {
		return nil, err
	}
	contacts, err := s.audience(ctx)
	if err != nil {
		return nil, err
	}
	for i, at := range starts {
		run := map[string]*recipient{}
		s.runs = append(s.runs, run)
		for _, c := range contacts {
			r := &recipient{key: c.key, c: c.c, timeline: s.timeline(c.key)}
			run[c.key] = r
			for j := range sp.Steps {
				st := &sp.Steps[j]
				if followup.IsFollowup(st) {
					continue
				}
				due := at
				if st.At != nil && st.At.After(at) {
					due = *st.At
				}
				s.push(&task{at: due, run: i + 1, r: r, step: st})
			}
		}
	}
	if o.Scenario != nil {
		for i := range o.Scenario.Events {
			s.push(&task{at: o.Scenario.Events[i].At, ev: &o.Scenario.Events[i]})
		}
	}
	for s.q.Len() > 0 {
		t := heap.Pop(&s.q).(*task)
		if !t.at.Before(s.until) {
			break
		}
		s.now = t.at
		if t.ev != nil {
			s.event(t.ev)
			continue
		}
		if err := s.step(ctx, t); err != nil {
			return nil, err
		}
	}
	return s.result(starts), nil
}

func (s *sim) push(t *task) {
	s.seq++
	t.seq = s.seq
	heap.Push(&s.q, t)
}

// starts are the run start times: the schedule's firings in the period,
// or its start for an unscheduled campaign.
func (s *sim) starts() ([]time.Time, error) {
	if s.sp.Schedule == nil || s.sp.Schedule.Cron == "" {
		return []time.Time{s.o.From}, nil
	}
	sch, err := scheduler.ParseSchedule(*s.sp.Schedule)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for t := sch.Next(s.o.From.Add(-time.Nanosecond)); !t.IsZero() && t.Before(s.until); t = sch.Next(t) {
		out = append(out, t)
		if len(out) > 1000 {
			return nil, errors.New("the schedule fires more than 1000 times in the period: simulate fewer days")
		}
	}
	return out, nil
}

type member struct {
	key string
	c   *contact.Contact
}

// simIDBase numbers the recipients of a file audience, which have no store
// id, so the frequency cap can count their simulated messages.
const simIDBase = 1 << 40

// audience reads the campaign's audience once (a copy: later changes to
// the base do not affect the simulation).
func (s *sim) audience(ctx context.Context) ([]member, error) {
	src, err := campaignrun.Source(s.sp, s.o.Store, func(audience.RowError) {})
	if err != nil {
		return nil, err
	}
	var by string
	var pct float64
	if s.sp.Audience.Top != nil {
		by, pct = s.sp.Audience.Top.By, s.sp.Audience.Top.Percent
	}
	sel, err := audience.NewSelector(s.sp.Audience.Where, by, pct)
	if err != nil {
		return nil, err
	}
	var out []member
	n := 0
	err = sel.Stream(ctx, src, func(c *contact.Contact) error {
		c.Normalize()
		n++
		if c.ID != 0 {
			s.look.stored[c.ID] = true
		} else {
			c.ID = simIDBase + int64(n)
		}
		key := c.ExternalID
		if key == "" {
			key = c.Email
		}
		if key == "" {
			key = fmt.Sprintf("#%d", n)
		}
		out = append(out, member{key, c})
		return nil
	})
	return out, err
}

func (s *sim) timeline(key string) *Timeline {
	if tl, ok := s.timelines[key]; ok {
		return tl
	}
	tl := &Timeline{Recipient: key, Entries: []Entry{}}
	s.timelines[key] = tl
	s.order = append(s.order, key)
	return tl
}

func (s *sim) add(r *recipient, run int, st, ch, action, detail string) {
	r.timeline.Entries = append(r.timeline.Entries, Entry{At: s.now, Run: run, Step: st, Channel: ch, Action: action, Detail: detail})
}

// step sends (or not) step t.step to t.r, as the follow-up handler, the
// planner and the worker would.
func (s *sim) step(ctx context.Context, t *task) error {
	st, r, tot := t.step, t.r, s.totals[t.step.ID]
	if followup.IsFollowup(st) && t.ch == "" {
		if s.sp.Purpose != campaign.Transactional && followup.Stopped(r.events) {
			tot.Stopped++
			s.add(r, t.run, st.ID, "", ActionStopped, "the recipient answered or opted out")
			return nil
		}
		ok, err := followup.Eval(s.sp, st, r.c, r.events)
		if err != nil {
			return err
		}
		if !ok {
			tot.Skipped++
			s.add(r, t.run, st.ID, "", ActionSkipped, "when is false: "+st.When)
			if next := followup.Next(s.sp, st.ID); next != nil {
				s.push(&task{at: s.now.Add(next.After), run: t.run, r: r, step: next})
			}
			return nil
		}
	}
	ch, dec, err := s.choose(ctx, st, r.c, t.ch)
	if err != nil {
		return err
	}
	switch dec.Verdict {
	case policy.Deny:
		tot.Refused[dec.Reason]++
		s.add(r, t.run, st.ID, ch, ActionRefused, dec.Reason)
		return nil
	case policy.Defer:
		tot.Deferred++
		s.add(r, t.run, st.ID, ch, ActionDeferred, fmt.Sprintf("%s until %s", dec.Reason, dec.NotBefore.In(s.loc).Format("2006-01-02 15:04 MST")))
		s.push(&task{at: dec.NotBefore, run: t.run, r: r, step: st, ch: ch})
		return nil
	}
	tot.Sent++
	tot.ByChannel[ch]++
	day := s.now.In(s.loc).Format("2006-01-02")
	if s.days[day] == nil {
		s.days[day] = map[string]int{}
	}
	s.days[day][st.ID]++
	if s.sp.Purpose != campaign.Transactional {
		s.look.recordSent(r.c.ID, s.now)
	}
	r.lastStep, r.lastCh = st.ID, ch
	r.events = append(r.events, store.Event{StepID: st.ID, Channel: ch, Type: store.EventSent, At: s.now})
	s.add(r, t.run, st.ID, ch, ActionSent, "")
	if next := followup.Next(s.sp, st.ID); next != nil {
		s.push(&task{at: s.now.Add(next.After), run: t.run, r: r, step: next})
	}
	return nil
}

// choose picks the channel as the planner does (the first the policy does
// not refuse), or re-checks the channel chosen before a deferral.
func (s *sim) choose(ctx context.Context, st *campaign.Step, c *contact.Contact, fixed string) (string, policy.Decision, error) {
	chans := s.sp.ChannelsFor(st)
	if fixed != "" {
		chans = []string{fixed}
	}
	ch, dec, err := policy.Choose(ctx, chans, func(ctx context.Context, ch string) (policy.Decision, error) {
		return s.engine.Decide(ctx, policy.Input{Contact: c, Channel: ch, Purpose: s.sp.Purpose, Stage: policy.Send,
			FrequencyCap: compose.CapOf(s.sp)})
	})
	if errors.Is(err, policy.ErrNoChannel) {
		return "", dec, fmt.Errorf("step %s has no channel", st.ID)
	}
	return ch, dec, err
}

// event applies a scenario event to its recipient in the latest run
// started before it.
func (s *sim) event(e *ScenarioEvent) {
	var r *recipient
	run := 0
	for i := len(s.runs) - 1; i >= 0 && r == nil; i-- {
		for _, cand := range s.runs[i] {
			if cand.key == e.Recipient || (cand.c.Email != "" && strings.EqualFold(cand.c.Email, e.Recipient)) {
				if cand.lastStep != "" || i == 0 {
					r, run = cand, i+1
				}
				break
			}
		}
	}
	if r == nil {
		tl := s.timeline(e.Recipient)
		tl.Entries = append(tl.Entries, Entry{At: s.now, Action: ActionEvent, Detail: e.Type + " (not in the audience: ignored)"})
		return
	}
	step := e.Step
	if step == "" {
		step = r.lastStep
	}
	typ := eventTypes[e.Type]
	r.events = append(r.events, store.Event{StepID: step, Channel: r.lastCh, Type: typ, At: s.now})
	switch e.Type {
	case "opt_out":
		for _, key := range s.engine.SuppressionKeys(r.c) {
			s.look.suppress(key, contact.SuppressOptedOut)
		}
	case "bounce":
		if ch := r.lastCh; ch != "" {
			if key, ok := s.engine.SuppressionKeys(r.c)[s.engine.AddressClass(ch)]; ok {
				s.look.suppress(key, contact.SuppressHardBounce)
			}
		}
	}
	s.add(r, run, step, r.lastCh, ActionEvent, e.Type)
}
