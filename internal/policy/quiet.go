package policy

import (
	"slices"
	"time"
)

// maxSearchDays bounds the search for an open day: a valid window opens at
// least once a week, and holidays never close more than a few days in a
// row, so reaching it means the rules are broken.
const maxSearchDays = 400

// NextAllowed returns the first instant at or after t when rules' window
// is open in loc: t itself when it is inside, else the opening (Start) of
// the next open day that is not a holiday. The result is expressed in loc.
// Days are walked as calendar dates, so a DST change moves the opening
// with the wall clock (08:00 stays 08:00). With the window disabled, or
// rules that never open (Validate refuses those), it returns t.
func NextAllowed(t time.Time, loc *time.Location, rules QuietHours) time.Time {
	if !rules.Enabled || len(rules.Days) == 0 || rules.Start >= rules.End {
		return t
	}
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	y, m, d := local.Date()
	for i := range maxSearchDays {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !openDay(day, rules) {
			continue
		}
		start := at(day, rules.Start, loc)
		end := at(day, rules.End, loc)
		if i == 0 {
			if local.Before(start) {
				return start
			}
			if local.Before(end) {
				return local
			}
			continue
		}
		return start
	}
	return t
}

// Open reports whether the window is open at t in loc.
func Open(t time.Time, loc *time.Location, rules QuietHours) bool {
	return NextAllowed(t, loc, rules).Equal(t)
}

// openDay reports whether day (a local midnight) is one of the window's
// days and not a holiday.
func openDay(day time.Time, rules QuietHours) bool {
	if !slices.Contains(rules.Days, Weekday(day.Weekday())) {
		return false
	}
	return !isHoliday(day, rules.Holidays)
}

// at returns the wall-clock time c on day's date in loc. A time that falls
// in a DST gap is normalized forward by time.Date, which is what a sender
// wants (02:30 on the spring-forward night becomes 03:30).
func at(day time.Time, c ClockTime, loc *time.Location) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, int(c)/60, int(c)%60, 0, 0, loc)
}
