package policy

import (
	"testing"
	"time"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return d
}

func TestEaster(t *testing.T) {
	// Known Western Easter Sundays (published tables), including the
	// earliest (22 March) and latest (25 April) possible dates.
	tests := []struct {
		name string
		year int
		want string
	}{
		{name: "2024", year: 2024, want: "2024-03-31"},
		{name: "2025", year: 2025, want: "2025-04-20"},
		{name: "2026", year: 2026, want: "2026-04-05"},
		{name: "2027", year: 2027, want: "2027-03-28"},
		{name: "2000", year: 2000, want: "2000-04-23"},
		{name: "earliest 1818", year: 1818, want: "1818-03-22"},
		{name: "latest 1943", year: 1943, want: "1943-04-25"},
		{name: "latest 2038", year: 2038, want: "2038-04-25"},
		{name: "2285 earliest", year: 2285, want: "2285-03-22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Easter(tt.year)
			if !got.Equal(date(t, tt.want)) {
				t.Errorf("Easter(%d) = %s, want %s", tt.year, got.Format(time.DateOnly), tt.want)
			}
			if got.Weekday() != time.Sunday {
				t.Errorf("Easter(%d) is a %s", tt.year, got.Weekday())
			}
		})
	}
}

func TestFrenchHolidays(t *testing.T) {
	tests := []struct {
		name          string
		year          int
		alsaceMoselle bool
		want          []string
	}{
		{
			name: "2025", year: 2025,
			want: []string{"2025-01-01", "2025-04-21", "2025-05-01", "2025-05-08", "2025-05-29", "2025-06-09",
				"2025-07-14", "2025-08-15", "2025-11-01", "2025-11-11", "2025-12-25"},
		},
		{
			name: "2027 (Ascension on 6 May)", year: 2027,
			want: []string{"2027-01-01", "2027-03-29", "2027-05-01", "2027-05-06", "2027-05-08", "2027-05-17",
				"2027-07-14", "2027-08-15", "2027-11-01", "2027-11-11", "2027-12-25"},
		},
		{
			name: "2026 Alsace-Moselle", year: 2026, alsaceMoselle: true,
			want: []string{"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25",
				"2026-07-14", "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25", "2026-12-26"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FrenchHolidays(tt.year)
			if tt.alsaceMoselle {
				got = AlsaceMoselleHolidays(tt.year)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d holidays, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !got[i].Equal(date(t, w)) {
					t.Errorf("holiday %d = %s, want %s", i, got[i].Format(time.DateOnly), w)
				}
			}
		})
	}
}

func TestIsHoliday(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{name: "14 July in Paris", t: time.Date(2026, 7, 14, 23, 30, 0, 0, paris), want: true},
		{name: "15 July 00:30 Paris is 14 July in UTC but not a holiday", t: time.Date(2026, 7, 15, 0, 30, 0, 0, paris), want: false},
		{name: "14 July 01:00 Paris is 13 July in UTC but a holiday", t: time.Date(2026, 7, 14, 1, 0, 0, 0, paris), want: true},
		{name: "ordinary day", t: time.Date(2026, 7, 16, 12, 0, 0, 0, paris), want: false},
		{name: "Whit Monday 2026", t: time.Date(2026, 5, 25, 9, 0, 0, 0, paris), want: true},
		{name: "Good Friday is not national", t: time.Date(2026, 4, 3, 9, 0, 0, 0, paris), want: false},
		{name: "Easter Sunday itself is not listed", t: time.Date(2026, 4, 5, 9, 0, 0, 0, paris), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsHoliday(tt.t); got != tt.want {
				t.Errorf("IsHoliday(%s) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}

// isHoliday keeps the last year of each calendar: asking about days of
// several years and both calendars in turn gives the answers of the
// holiday lists themselves.
func TestIsHolidayAcrossYearsAndCalendars(t *testing.T) {
	cals := []string{HolidaysFR, HolidaysFRAlsaceMoselle}
	for round := range 2 {
		for year := 2024; year <= 2030; year++ {
			want := map[string]map[time.Time]bool{}
			for _, cal := range cals {
				want[cal] = map[time.Time]bool{}
				for _, h := range holidays(year, cal == HolidaysFRAlsaceMoselle) {
					want[cal][h] = true
				}
			}
			// Each day is asked of both calendars in turn (Good Friday
			// and 26 December tell them apart), then of the first again.
			for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
				for _, cal := range append(cals, cals[0]) {
					if got := isHoliday(d, cal); got != want[cal][d] {
						t.Fatalf("round %d: isHoliday(%s, %q) = %v, want %v", round, d.Format(time.DateOnly), cal, got, want[cal][d])
					}
				}
			}
		}
	}
	if isHoliday(time.Date(2026, 7, 14, 0, 0, 0, 0, time.UTC), "none") {
		t.Error(`isHoliday with calendar "none" = true`)
	}
}
