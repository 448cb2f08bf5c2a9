package policy

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestNextAllowed(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	ny := mustLoc(t, "America/New_York")
	at := func(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	def := DefaultRules().QuietHours
	alsace := def
	alsace.Holidays = HolidaysFRAlsaceMoselle
	noHolidays := def
	noHolidays.Holidays = HolidaysNone
	off := def
	off.Enabled = false

	tests := []struct {
		name  string
		t     time.Time
		loc   *time.Location
		rules QuietHours
		want  time.Time
	}{
		{name: "Sunday 10:00 → Monday 08:00", t: at(2026, 3, 8, 10, 0, paris), loc: paris, rules: def, want: at(2026, 3, 9, 8, 0, paris)},
		{name: "Saturday 19:59 allowed", t: at(2026, 3, 7, 19, 59, paris), loc: paris, rules: def, want: at(2026, 3, 7, 19, 59, paris)},
		{name: "Saturday 20:00 → Monday 08:00", t: at(2026, 3, 7, 20, 0, paris), loc: paris, rules: def, want: at(2026, 3, 9, 8, 0, paris)},
		{name: "Monday 07:59 → same day 08:00", t: at(2026, 3, 9, 7, 59, paris), loc: paris, rules: def, want: at(2026, 3, 9, 8, 0, paris)},
		{name: "Tuesday 08:00 allowed (start included)", t: at(2026, 3, 10, 8, 0, paris), loc: paris, rules: def, want: at(2026, 3, 10, 8, 0, paris)},
		{name: "Wednesday 23:00 → Thursday 08:00", t: at(2026, 3, 11, 23, 0, paris), loc: paris, rules: def, want: at(2026, 3, 12, 8, 0, paris)},
		{name: "Ascension 2027-05-06 10:00 → Friday 08:00", t: at(2027, 5, 6, 10, 0, paris), loc: paris, rules: def, want: at(2027, 5, 7, 8, 0, paris)},
		{
			// The night of 27→28 March 2027 moves Paris from +01:00 to
			// +02:00, the Sunday is Easter and the Monday Easter Monday.
			name: "DST change 2027-03-28 then Easter Monday → Tuesday 08:00 CEST",
			t:    at(2027, 3, 27, 20, 30, paris), loc: paris, rules: def, want: at(2027, 3, 30, 8, 0, paris),
		},
		{name: "DST change without holidays → Monday 08:00 CEST", t: at(2027, 3, 27, 20, 30, paris), loc: paris, rules: noHolidays, want: at(2027, 3, 29, 8, 0, paris)},
		{name: "autumn DST change 2026-10-25 → Monday 08:00 CET", t: at(2026, 10, 24, 21, 0, paris), loc: paris, rules: def, want: at(2026, 10, 26, 8, 0, paris)},
		{name: "holiday Saturday 1 Nov 2025 then Sunday → Monday 3 Nov", t: at(2025, 11, 1, 10, 0, paris), loc: paris, rules: def, want: at(2025, 11, 3, 8, 0, paris)},
		{name: "Friday 31 Oct 2025 evening → Monday 3 Nov", t: at(2025, 10, 31, 20, 0, paris), loc: paris, rules: def, want: at(2025, 11, 3, 8, 0, paris)},
		{name: "Christmas Eve evening → 26 Dec", t: at(2025, 12, 24, 20, 0, paris), loc: paris, rules: def, want: at(2025, 12, 26, 8, 0, paris)},
		{name: "Christmas Eve evening in Alsace-Moselle → 27 Dec", t: at(2025, 12, 24, 20, 0, paris), loc: paris, rules: alsace, want: at(2025, 12, 27, 8, 0, paris)},
		{name: "Ascension without holidays allowed", t: at(2027, 5, 6, 10, 0, paris), loc: paris, rules: noHolidays, want: at(2027, 5, 6, 10, 0, paris)},
		{name: "disabled returns t", t: at(2026, 3, 8, 3, 0, paris), loc: paris, rules: off, want: at(2026, 3, 8, 3, 0, paris)},
		{
			// 13:00 UTC on a Monday is 09:00 in New York: open there.
			name: "recipient zone, not UTC", t: time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), loc: ny, rules: def,
			want: time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC),
		},
		{
			// 02:00 UTC Tuesday is Monday 22:00 in New York: closed until
			// Tuesday 08:00 there.
			name: "late evening in New York", t: time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC), loc: ny, rules: def,
			want: at(2026, 3, 10, 8, 0, ny),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextAllowed(tt.t, tt.loc, tt.rules)
			if !got.Equal(tt.want) {
				t.Errorf("NextAllowed(%s) = %s, want %s", tt.t, got, tt.want)
			}
			if got.Before(tt.t) {
				t.Errorf("NextAllowed went back in time: %s < %s", got, tt.t)
			}
			if !Open(got, tt.loc, tt.rules) {
				t.Errorf("result %s is not open", got)
			}
		})
	}
}

func TestNextAllowedDSTOffset(t *testing.T) {
	paris := mustLoc(t, "Europe/Paris")
	got := NextAllowed(time.Date(2027, 3, 27, 21, 0, 0, 0, paris), paris, DefaultRules().QuietHours)
	if _, off := got.Zone(); off != 2*3600 {
		t.Errorf("offset after the spring change = %ds, want +7200 (CEST): %s", off, got)
	}
	if want := time.Date(2027, 3, 30, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %s, want %s", got.UTC(), want)
	}
}
