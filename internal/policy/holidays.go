package policy

import (
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// Easter returns Easter Sunday of year in the Gregorian calendar (UTC
// midnight), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher),
// valid for any year after 1582.
func Easter(year int) time.Time {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// FrenchHolidays returns the 11 national French public holidays of year
// (Code du travail art. L3133-1), sorted, as UTC midnight dates: 1 January,
// Easter Monday, 1 May, 8 May, Ascension (Easter + 39 days), Whit Monday
// (Easter + 50), 14 July, 15 August, 1 November, 11 November, 25 December.
func FrenchHolidays(year int) []time.Time {
	return holidays(year, false)
}

// AlsaceMoselleHolidays returns FrenchHolidays plus Good Friday and 26
// December, public holidays in Bas-Rhin, Haut-Rhin and Moselle only
// (Code du travail art. L3134-13), sorted.
func AlsaceMoselleHolidays(year int) []time.Time {
	return holidays(year, true)
}

func holidays(year int, alsaceMoselle bool) []time.Time {
	day := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }
	easter := Easter(year)
	hs := []time.Time{
		day(time.January, 1),
		easter.AddDate(0, 0, 1),
		day(time.May, 1),
		day(time.May, 8),
		easter.AddDate(0, 0, 39),
		easter.AddDate(0, 0, 50),
		day(time.July, 14),
		day(time.August, 15),
		day(time.November, 1),
		day(time.November, 11),
		day(time.December, 25),
	}
	if alsaceMoselle {
		hs = append(hs, easter.AddDate(0, 0, -2), day(time.December, 26))
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Before(hs[j]) })
	return hs
}

// IsHoliday reports whether the calendar date of t, read in t's own
// location, is a national French public holiday. Pass a time in the
// recipient's zone: a holiday is a local date, not a UTC range.
func IsHoliday(t time.Time) bool { return isHoliday(t, HolidaysFR) }

// isHoliday reports whether t's local date is a holiday in calendar
// ("", "none", "fr" or "fr-alsace-moselle").
func isHoliday(t time.Time, calendar string) bool {
	var alsaceMoselle bool
	switch calendar {
	case HolidaysFR:
	case HolidaysFRAlsaceMoselle:
		alsaceMoselle = true
	default:
		return false
	}
	y, m, d := t.Date()
	return slices.Contains(holidayDates(y, alsaceMoselle), monthDay(m, d))
}

// holidayYear is the holidays of one year of one calendar, as monthDay
// values.
type holidayYear struct {
	year  int
	dates []int
}

// lastHolidays keeps, per calendar (national, Alsace-Moselle), the last
// year asked for: quiet hours look the holidays up for every recipient.
var lastHolidays [2]atomic.Pointer[holidayYear]

// holidayDates returns the holidays of year as monthDay values.
func holidayDates(year int, alsaceMoselle bool) []int {
	slot := &lastHolidays[0]
	if alsaceMoselle {
		slot = &lastHolidays[1]
	}
	if h := slot.Load(); h != nil && h.year == year {
		return h.dates
	}
	hs := holidays(year, alsaceMoselle)
	dates := make([]int, len(hs))
	for i, h := range hs {
		dates[i] = monthDay(h.Month(), h.Day())
	}
	slot.Store(&holidayYear{year: year, dates: dates})
	return dates
}

func monthDay(m time.Month, d int) int { return int(m)*32 + d }
