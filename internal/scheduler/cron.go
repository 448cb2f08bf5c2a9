package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/relais-dev/relais/internal/campaign"
)

// DefaultTimezone is the time zone of a schedule that names none: relais'
// users are French, and a newsletter "every Monday at 9" means Paris time.
const DefaultTimezone = "Europe/Paris"

// clockSkew is how far a worker's clock may lag the scheduler's and still
// attribute a firing to the right tick of a cron schedule (whose ticks are
// at least a minute apart).
const clockSkew = 2 * time.Second

// maxLookback bounds the search for a schedule's previous tick: a cron
// expression that has not fired in five years (30 February…) has no tick.
const maxLookback = 5 * 366 * 24 * time.Hour

// Schedule is a campaign's parsed cron schedule in its time zone.
type Schedule struct {
	// Spec is the expression given to asynq's scheduler, prefixed with
	// CRON_TZ=<zone> so the cron library evaluates it in that zone (and
	// across daylight-saving changes) whatever the process' zone.
	Spec     string
	Location *time.Location
	sched    cron.Schedule
}

// ParseSchedule parses s (standard 5-field cron or a descriptor such as
// @daily or @every 2s, as campaign validation accepts) in its time zone,
// DefaultTimezone when empty. It fails on a bad expression or zone.
func ParseSchedule(s campaign.Schedule) (*Schedule, error) {
	tz := s.Timezone
	if tz == "" {
		tz = DefaultTimezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("schedule time zone %q: %w", tz, err)
	}
	spec := strings.TrimSpace(s.Cron)
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=" + tz + " " + spec
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s.Cron, err)
	}
	return &Schedule{Spec: spec, Location: loc, sched: sched}, nil
}

// Next returns the first tick strictly after t, in the schedule's zone
// (zero when the expression never fires again). When clocks go back, a
// wall-clock time seen twice (02:30 on the last Sunday of October in
// Paris) is one tick, the first; the cron library fires at both, and
// Tick maps the second firing to the first tick so it is one run.
// Schedules firing every hour keep every real hour. When clocks go
// forward, a time that does not exist that day (02:30 on the last Sunday
// of March) has no tick that day: the cron library skips it.
func (s *Schedule) Next(t time.Time) time.Time {
	for {
		n := s.sched.Next(t)
		if n.IsZero() {
			return n
		}
		if _, rep := s.repeat(n); !rep {
			return n.In(s.Location)
		}
		t = n
	}
}

// repeat reports whether t is the second occurrence of its wall-clock
// time (clocks went back) for a schedule with fixed hours, and returns
// the first occurrence.
func (s *Schedule) repeat(t time.Time) (time.Time, bool) {
	spec, ok := s.sched.(*cron.SpecSchedule)
	if !ok || spec.Hour&0xFFFFFF == 0xFFFFFF {
		return time.Time{}, false
	}
	t = t.In(s.Location)
	for _, d := range []time.Duration{time.Hour, 30 * time.Minute, 2 * time.Hour} {
		p := t.Add(-d).In(s.Location)
		if p.Year() == t.Year() && p.YearDay() == t.YearDay() && p.Hour() == t.Hour() && p.Minute() == t.Minute() {
			return p, true
		}
	}
	return time.Time{}, false
}

// Period estimates the time between two ticks after t; the fire task's
// uniqueness window is derived from it.
func (s *Schedule) Period(t time.Time) time.Duration {
	if d, ok := s.sched.(cron.ConstantDelaySchedule); ok {
		return d.Delay
	}
	a := s.Next(t)
	if a.IsZero() {
		return 0
	}
	b := s.Next(a)
	if b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

// Tick returns the tick a firing handled at now belongs to: the last
// scheduled time at or before now (allowing clockSkew for a worker whose
// clock runs slightly behind the scheduler's), the first occurrence of a
// wall-clock time repeated when clocks go back (see Next). An @every schedule has no
// anchor in the cron library, so its ticks are the multiples of its delay
// since the Unix epoch: every process maps a firing in the same interval
// to the same tick. It fails when the schedule never fired.
func (s *Schedule) Tick(now time.Time) (time.Time, error) {
	if d, ok := s.sched.(cron.ConstantDelaySchedule); ok {
		return now.Truncate(d.Delay).In(s.Location), nil
	}
	now = now.Add(clockSkew)
	for window := time.Minute; window <= maxLookback; window *= 2 {
		t := s.sched.Next(now.Add(-window))
		if t.IsZero() || t.After(now) {
			continue
		}
		for {
			n := s.sched.Next(t)
			if n.IsZero() || n.After(now) {
				if first, rep := s.repeat(t); rep {
					return first, nil
				}
				return t.In(s.Location), nil
			}
			t = n
		}
	}
	return time.Time{}, errors.New("schedule has no tick in the last five years")
}

// RunKey is the run key of the tick at t: the tick truncated to the
// second (cron ticks are whole minutes) in RFC 3339 in the schedule's
// zone, so the key reads as the local time the run was meant for.
func (s *Schedule) RunKey(tick time.Time) string {
	return tick.Truncate(time.Second).In(s.Location).Format(time.RFC3339)
}
