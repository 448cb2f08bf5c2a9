package policy

import (
	"testing"
	"time"
)

// FuzzNextAllowed checks NextAllowed's invariants for any instant and
// window: the result is never earlier than t, is open, and is t itself
// when t is open.
func FuzzNextAllowed(f *testing.F) {
	f.Add(int64(1772960400), 480, 1200, false) // Sunday 2026-03-08 10:00 Paris
	f.Add(int64(1806087600), 480, 1200, true)  // around the 2027 spring DST change
	f.Add(int64(1761994800), 0, 1440, false)   // 1 Nov 2025, whole-day window
	f.Add(int64(1798153200), 1200, 1260, true) // Christmas 2026, evening window
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, unix int64, start, end int, alsace bool) {
		if unix < 0 || unix > 7258118400 || start < 0 || end > 1440 || start >= end {
			t.Skip()
		}
		q := DefaultRules().QuietHours
		q.Start, q.End = ClockTime(start), ClockTime(end)
		if alsace {
			q.Holidays = HolidaysFRAlsaceMoselle
		}
		in := time.Unix(unix, 0).In(paris)
		got := NextAllowed(in, paris, q)
		if got.Before(in) {
			t.Fatalf("NextAllowed(%s) = %s, earlier", in, got)
		}
		if got.Sub(in) > 8*24*time.Hour {
			t.Fatalf("NextAllowed(%s) = %s, more than 8 days later", in, got)
		}
		local := got.In(paris)
		if local.Weekday() == time.Sunday || isHoliday(local, q.Holidays) {
			t.Fatalf("NextAllowed(%s) = %s, a closed day", in, got)
		}
		if m := local.Hour()*60 + local.Minute(); !got.Equal(in) && m < start {
			t.Fatalf("NextAllowed(%s) = %s, before the window opens", in, got)
		}
		if !Open(got, paris, q) {
			t.Fatalf("NextAllowed(%s) = %s is not open", in, got)
		}
	})
}
