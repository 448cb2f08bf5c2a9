package policy

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultRulesValidate(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Fatalf("default rules do not validate: %v", err)
	}
}

func TestRulesYAML(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, r Rules)
		wantErr string // substring of the decode or Validate error
	}{
		{
			name: "empty keeps defaults",
			yaml: "{}",
			check: func(t *testing.T, r Rules) {
				t.Helper()
				if r.FrequencyCap != (Cap{N: 3, Per: 7 * 24 * time.Hour}) || r.QuietHours.Start != Clock(8, 0) || r.OpenTracking != TrackWithConsent {
					t.Errorf("defaults lost: %+v", r)
				}
			},
		},
		{
			name: "overrides",
			yaml: `
consent:
  business:
    sms: opt_in
frequency_cap: {n: 5, per: 14d}
quiet_hours:
  days: [lun, mar, mer, jeu, ven]
  start: "09:30"
  end: "19:00"
  holidays: fr-alsace-moselle
timezone: America/Martinique
open_tracking: never
`,
			check: func(t *testing.T, r Rules) {
				t.Helper()
				if r.Consent["business"]["sms"] != OptIn {
					t.Errorf("business sms = %q", r.Consent["business"]["sms"])
				}
				if r.FrequencyCap != (Cap{N: 5, Per: 14 * 24 * time.Hour}) {
					t.Errorf("cap = %+v", r.FrequencyCap)
				}
				q := r.QuietHours
				if len(q.Days) != 5 || q.Days[0] != Weekday(time.Monday) || q.Start != Clock(9, 30) || q.End != Clock(19, 0) || q.Holidays != HolidaysFRAlsaceMoselle || !q.Enabled {
					t.Errorf("quiet hours = %+v", q)
				}
				if r.Timezone != "America/Martinique" || r.OpenTracking != TrackNever {
					t.Errorf("rules = %+v", r)
				}
			},
		},
		{name: "bad mode", yaml: "consent: {person: {email: maybe}}", wantErr: "unknown mode"},
		{name: "bad kind", yaml: "consent: {robot: {email: opt_in}}", wantErr: "unknown contact kind"},
		{name: "bad channel", yaml: "consent: {person: {fax: opt_in}}", wantErr: "unknown channel"},
		{name: "bad time", yaml: `quiet_hours: {start: "8h"}`, wantErr: "invalid time of day"},
		{name: "bad day", yaml: `quiet_hours: {days: [someday]}`, wantErr: "invalid day"},
		{name: "start after end", yaml: `quiet_hours: {start: "21:00", end: "08:00"}`, wantErr: "must be before end"},
		{name: "bad per", yaml: `frequency_cap: {n: 3, per: soon}`, wantErr: "invalid duration"},
		{name: "bad zone", yaml: `timezone: Mars/Olympus`, wantErr: "unknown time zone"},
		{name: "bad tracking", yaml: `open_tracking: sometimes`, wantErr: "open_tracking"},
		{name: "bad holidays", yaml: `quiet_hours: {holidays: us}`, wantErr: "holidays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			err := yaml.Unmarshal([]byte(tt.yaml), &r)
			if err == nil {
				err = r.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestRulesYAMLRoundTrip(t *testing.T) {
	out, err := yaml.Marshal(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	var back Rules
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("round-tripped rules invalid: %v\n%s", err, out)
	}
	if back.QuietHours.Start != Clock(8, 0) || len(back.QuietHours.Days) != 6 || back.FrequencyCap.Per != 7*24*time.Hour {
		t.Errorf("round trip lost values:\n%s", out)
	}
}
