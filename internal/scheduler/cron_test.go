package scheduler

import (
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
)

func mustSchedule(t *testing.T, cron, tz string) *Schedule {
	t.Helper()
	s, err := ParseSchedule(campaign.Schedule{Cron: cron, Timezone: tz})
	if err != nil {
		t.Fatalf("ParseSchedule(%q, %q): %v", cron, tz, err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestNextAcrossDST follows daily schedules in Europe/Paris across the
// 2027 daylight-saving changes (Sunday 28 March, Sunday 31 October): a
// 9:00 newsletter stays at 9:00 local time, so its UTC instant moves by
// an hour; a 2:30 job fires once on the day 2:30 happens twice, and not on
// the day it does not exist.
func TestNextAcrossDST(t *testing.T) {
	tests := []struct {
		name, cron string
		from       time.Time
		want       []string // successive ticks, UTC
	}{
		{name: "9:00 across March", cron: "0 9 * * *", from: utc("2027-03-26T12:00:00Z"),
			want: []string{"2027-03-27T08:00:00Z", "2027-03-28T07:00:00Z", "2027-03-29T07:00:00Z"}},
		{name: "9:00 across October", cron: "0 9 * * *", from: utc("2027-10-29T12:00:00Z"),
			want: []string{"2027-10-30T07:00:00Z", "2027-10-31T08:00:00Z", "2027-11-01T08:00:00Z"}},
		{name: "Mondays 9:00 across March", cron: "0 9 * * MON", from: utc("2027-03-20T00:00:00Z"),
			want: []string{"2027-03-22T08:00:00Z", "2027-03-29T07:00:00Z"}},
		{name: "2:30 does not exist on 28 March", cron: "30 2 * * *", from: utc("2027-03-26T12:00:00Z"),
			want: []string{"2027-03-27T01:30:00Z", "2027-03-29T00:30:00Z"}},
		{name: "2:30 happens twice on 31 October, fires once", cron: "30 2 * * *", from: utc("2027-10-29T12:00:00Z"),
			want: []string{"2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"}},
		{name: "hourly keeps both 2:00 hours in October", cron: "0 * * * *", from: utc("2027-10-30T23:30:00Z"),
			want: []string{"2027-10-31T00:00:00Z", "2027-10-31T01:00:00Z", "2027-10-31T02:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSchedule(t, tt.cron, "Europe/Paris")
			at := tt.from
			for i, w := range tt.want {
				at = s.Next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("tick %d = %s (%s), want %s", i, at.UTC().Format(time.RFC3339), at.Format(time.RFC3339), w)
				}
				if at.Location().String() != "Europe/Paris" {
					t.Errorf("tick %d in %s, want Europe/Paris", i, at.Location())
				}
			}
		})
	}
}

// TestTick maps firings to the tick they belong to, which becomes the
// run key: every process firing the same tick must compute the same key.
func TestTick(t *testing.T) {
	tests := []struct {
		name, cron, tz string
		now            time.Time
		wantKey        string
	}{
		{name: "just after the tick", cron: "0 9 * * *", tz: "Europe/Paris", now: utc("2027-03-29T07:00:00.050Z"), wantKey: "2027-03-29T09:00:00+02:00"},
		{name: "worker clock slightly behind", cron: "0 9 * * *", tz: "Europe/Paris", now: utc("2027-03-29T06:59:59.300Z"), wantKey: "2027-03-29T09:00:00+02:00"},
		{name: "handled late the same day", cron: "0 9 * * *", tz: "Europe/Paris", now: utc("2027-03-29T15:00:00Z"), wantKey: "2027-03-29T09:00:00+02:00"},
		{name: "winter offset", cron: "0 9 * * *", tz: "Europe/Paris", now: utc("2027-01-04T08:00:01Z"), wantKey: "2027-01-04T09:00:00+01:00"},
		{name: "weekly, looks back days", cron: "0 9 * * MON", tz: "Europe/Paris", now: utc("2027-03-31T10:00:00Z"), wantKey: "2027-03-29T09:00:00+02:00"},
		{name: "second 2:30 of 31 October is the first tick", cron: "30 2 * * *", tz: "Europe/Paris", now: utc("2027-10-31T01:30:02Z"), wantKey: "2027-10-31T02:30:00+02:00"},
		{name: "every minute", cron: "* * * * *", tz: "UTC", now: utc("2027-05-01T10:17:00.9Z"), wantKey: "2027-05-01T10:17:00Z"},
		{name: "default zone is Paris", cron: "0 9 * * *", tz: "", now: utc("2027-06-01T07:00:03Z"), wantKey: "2027-06-01T09:00:00+02:00"},
		{name: "@every aligned on the epoch", cron: "@every 2s", tz: "UTC", now: utc("2027-05-01T10:17:03.999Z"), wantKey: "2027-05-01T10:17:02Z"},
		{name: "@every same interval, other process", cron: "@every 2s", tz: "UTC", now: utc("2027-05-01T10:17:02.001Z"), wantKey: "2027-05-01T10:17:02Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSchedule(t, tt.cron, tt.tz)
			tick, err := s.Tick(tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.RunKey(tick); got != tt.wantKey {
				t.Errorf("run key %q, want %q", got, tt.wantKey)
			}
		})
	}
}

func TestParseScheduleRejects(t *testing.T) {
	tests := []struct{ name, cron, tz string }{
		{name: "bad zone", cron: "0 9 * * *", tz: "Europe/Lyon"},
		{name: "bad expression", cron: "0 9 * * LUNDI", tz: "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseSchedule(campaign.Schedule{Cron: tt.cron, Timezone: tt.tz}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestTickNever(t *testing.T) {
	s := mustSchedule(t, "0 0 30 2 *", "UTC") // 30 February
	if _, err := s.Tick(utc("2027-05-01T00:00:00Z")); err == nil {
		t.Fatal("a schedule that never fires has a tick")
	}
}
