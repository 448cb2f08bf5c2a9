package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// ConsentMode says what a marketing message needs from a contact's consent
// record on one channel.
type ConsentMode string

// Consent modes.
const (
	// OptIn needs a recorded, granted consent: unknown is a refusal
	// (reason no_consent).
	OptIn ConsentMode = "opt_in"
	// OptOut sends unless the contact refused (reason opted_out).
	OptOut ConsentMode = "opt_out"
	// Never refuses every marketing message on the channel, for an
	// operator who does not prospect on it at all.
	Never ConsentMode = "never"
)

// Open tracking policies (Rules.OpenTracking).
const (
	TrackAlways      = "always"
	TrackWithConsent = "with_consent"
	TrackNever       = "never"
)

// Holiday calendars (QuietHours.Holidays).
const (
	HolidaysNone = "none"
	// HolidaysFR is the 11 national French public holidays.
	HolidaysFR = "fr"
	// HolidaysFRAlsaceMoselle adds Good Friday and 26 December, public
	// holidays only in Bas-Rhin, Haut-Rhin and Moselle.
	HolidaysFRAlsaceMoselle = "fr-alsace-moselle"
)

// Rules is the `policy:` section of relais.yaml. Start from DefaultRules,
// decode the file over it, then call Validate. docs/compliance.md explains
// each default and its legal source.
type Rules struct {
	// Consent maps a contact kind ("person", "business") to a channel
	// name to the mode a marketing message
	// needs. A channel missing for a kind falls back to OptIn, the safe
	// side. Transactional messages never consult it.
	Consent map[string]map[string]ConsentMode `yaml:"consent"`
	// FrequencyCap is at most N marketing messages per Per to one
	// contact, across campaigns (default 3 per 7 days; N 0 disables it).
	FrequencyCap Cap `yaml:"frequency_cap"`
	// QuietHours is when marketing SMS/MMS may be sent.
	QuietHours QuietHours `yaml:"quiet_hours"`
	// Timezone is used for a contact without a valid time zone (default
	// Europe/Paris).
	Timezone string `yaml:"timezone"`
	// OpenTracking is "always", "with_consent" (default) or "never":
	// whether emails carry a per-person open pixel. EU regulators treat
	// the pixel as tracking, hence the consent default.
	OpenTracking string `yaml:"open_tracking"`
}

// Cap is a frequency cap: at most N messages per Per.
type Cap struct {
	N   int           `yaml:"n"`
	Per time.Duration `yaml:"per"`
}

// UnmarshalYAML accepts Per as a Go duration ("168h") or a number of
// days ("7d"), since operators think of caps in days.
func (c *Cap) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		N   int    `yaml:"n"`
		Per string `yaml:"per"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	c.N = raw.N
	if raw.Per == "" {
		return nil
	}
	d, err := parseDays(raw.Per)
	if err != nil {
		return fmt.Errorf("line %d: frequency_cap.per: %w", n.Line, err)
	}
	c.Per = d
	return nil
}

func parseDays(s string) (time.Duration, error) {
	if num, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(num)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("invalid number of days %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	return d, nil
}

// QuietHours is the sending window for marketing messages on Channels.
// Outside it, a message is deferred to the window's next opening, never
// dropped.
type QuietHours struct {
	// Enabled turns the window on (default true).
	Enabled bool `yaml:"enabled"`
	// Channels the window applies to (default sms, mms).
	Channels []string `yaml:"channels"`
	// Days the window is open (default mon–sat).
	Days []Weekday `yaml:"days"`
	// Start and End bound the window each open day, End excluded
	// (default 08:00–20:00), in the recipient's time zone.
	Start ClockTime `yaml:"start"`
	End   ClockTime `yaml:"end"`
	// Holidays is the calendar of days the window stays closed: "fr"
	// (default), "fr-alsace-moselle" or "none".
	Holidays string `yaml:"holidays"`
}

// ClockTime is a time of day in minutes after midnight, written "HH:MM"
// in YAML.
type ClockTime int

// Clock returns the ClockTime h:m.
func Clock(h, m int) ClockTime { return ClockTime(h*60 + m) }

// String formats as "HH:MM".
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// UnmarshalYAML parses "HH:MM" (00:00–24:00).
func (c *ClockTime) UnmarshalYAML(n *yaml.Node) error {
	t, err := ParseClock(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*c = t
	return nil
}

// MarshalYAML writes "HH:MM".
func (c ClockTime) MarshalYAML() (any, error) { return c.String(), nil }

// ParseClock parses "HH:MM"; "24:00" is allowed as an end of day. It
// fails on anything else.
func ParseClock(s string) (ClockTime, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, herr := strconv.Atoi(hs)
	m, merr := strconv.Atoi(ms)
	if !ok || herr != nil || merr != nil || len(ms) != 2 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("invalid time of day %q (want HH:MM)", s)
	}
	return Clock(h, m), nil
}

// Weekday is a time.Weekday written "mon".."sun" in YAML (French "lun".."dim"
// are accepted too).
type Weekday time.Weekday

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"dim": time.Sunday, "lun": time.Monday, "mar": time.Tuesday, "mer": time.Wednesday,
	"jeu": time.Thursday, "ven": time.Friday, "sam": time.Saturday,
}

// UnmarshalYAML parses a day name (its first three letters suffice).
func (w *Weekday) UnmarshalYAML(n *yaml.Node) error {
	s := strings.ToLower(strings.TrimSpace(n.Value))
	if len(s) >= 3 {
		if d, ok := weekdayNames[s[:3]]; ok {
			*w = Weekday(d)
			return nil
		}
	}
	return fmt.Errorf("line %d: invalid day %q (want mon..sun)", n.Line, n.Value)
}

// MarshalYAML writes the three-letter English name.
func (w Weekday) MarshalYAML() (any, error) {
	return strings.ToLower(time.Weekday(w).String()[:3]), nil
}

// DefaultRules returns the rules relais applies when relais.yaml says
// nothing. Each default and its source:
//
//   - person × email, sms, mms: opt-in. CPCE art. L34-5 (transposing
//     directive 2002/58/EC art. 13) forbids direct marketing by automated
//     electronic means to a natural person without prior consent; the
//     "similar products" exception for existing customers is not assumed
//     (grant it by recording consent).
//   - business × email, sms, mms: opt-out. CNIL guidance on B2B
//     prospecting: a professional address may be prospected without prior
//     consent if the message concerns the person's function and they can
//     object at any time.
//   - person and business × print: opt-out. Postal prospecting is not
//     covered by L34-5; CNIL guidance requires only information and a
//     right to object (GDPR art. 21).
//   - frequency cap: 3 marketing messages per 7 days across campaigns, a
//     product choice against fatigue, not a legal limit.
//   - quiet hours for marketing SMS/MMS: Monday–Saturday 08:00–20:00 in
//     the recipient's time zone, none on French public holidays. This
//     comes from operator charters (FFTélécoms / AF2M code of conduct for
//     SMS+ and commercial SMS), not from law, so it is configurable.
//   - timezone Europe/Paris; open tracking "with_consent".
func DefaultRules() Rules { return DefaultRulesFor(builtinChannels()) }

// DefaultRulesFor is DefaultRules for the channels of r: each channel's
// default consent modes and quiet-hours membership come from its
// descriptor.
func DefaultRulesFor(r *channel.Registry) Rules {
	consent := map[string]map[string]ConsentMode{contact.KindPerson: {}, contact.KindBusiness: {}}
	var quiet []string
	for _, d := range r.All() {
		for kind, mode := range d.DefaultConsent {
			if consent[kind] != nil {
				consent[kind][d.Name] = ConsentMode(mode)
			}
		}
		if d.QuietHours {
			quiet = append(quiet, d.Name)
		}
	}
	return Rules{
		Consent:      consent,
		FrequencyCap: Cap{N: 3, Per: 7 * 24 * time.Hour},
		QuietHours: QuietHours{
			Enabled:  true,
			Channels: quiet,
			Days: []Weekday{
				Weekday(time.Monday), Weekday(time.Tuesday), Weekday(time.Wednesday),
				Weekday(time.Thursday), Weekday(time.Friday), Weekday(time.Saturday),
			},
			Start:    Clock(8, 0),
			End:      Clock(20, 0),
			Holidays: HolidaysFR,
		},
		Timezone:     "Europe/Paris",
		OpenTracking: TrackWithConsent,
	}
}

// Validate reports every problem in r at once (errors.Join); nil means
// the engine can use r.
func (r Rules) Validate() error { return r.validate(builtinChannels()) }

// validate is Validate against the channels of reg.
func (r Rules) validate(reg *channel.Registry) error {
	var errs []error
	for kind, chans := range r.Consent {
		if kind != contact.KindPerson && kind != contact.KindBusiness {
			errs = append(errs, fmt.Errorf("policy.consent: unknown contact kind %q", kind))
		}
		for ch, mode := range chans {
			if !reg.Known(ch) {
				errs = append(errs, fmt.Errorf("policy.consent.%s: unknown channel %q", kind, ch))
			}
			if mode != OptIn && mode != OptOut && mode != Never {
				errs = append(errs, fmt.Errorf("policy.consent.%s.%s: unknown mode %q (want opt_in, opt_out or never)", kind, ch, mode))
			}
		}
	}
	if r.FrequencyCap.N < 0 || (r.FrequencyCap.N > 0 && r.FrequencyCap.Per <= 0) {
		errs = append(errs, errors.New("policy.frequency_cap: n must be ≥ 0 and per > 0"))
	}
	if err := r.QuietHours.validate(reg); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.LoadLocation(r.Timezone); err != nil || r.Timezone == "" {
		errs = append(errs, fmt.Errorf("policy.timezone: unknown time zone %q", r.Timezone))
	}
	switch r.OpenTracking {
	case TrackAlways, TrackWithConsent, TrackNever:
	default:
		errs = append(errs, fmt.Errorf("policy.open_tracking: %q (want always, with_consent or never)", r.OpenTracking))
	}
	return errors.Join(errs...)
}

func (q QuietHours) validate(reg *channel.Registry) error {
	if !q.Enabled {
		return nil
	}
	var errs []error
	for _, ch := range q.Channels {
		if !reg.Known(ch) {
			errs = append(errs, fmt.Errorf("policy.quiet_hours.channels: unknown channel %q", ch))
		}
	}
	if len(q.Days) == 0 {
		errs = append(errs, errors.New("policy.quiet_hours.days: no open day (disable quiet hours instead)"))
	}
	if q.Start < 0 || q.End > Clock(24, 0) || q.Start >= q.End {
		errs = append(errs, fmt.Errorf("policy.quiet_hours: start %s must be before end %s", q.Start, q.End))
	}
	switch q.Holidays {
	case "", HolidaysNone, HolidaysFR, HolidaysFRAlsaceMoselle:
	default:
		errs = append(errs, fmt.Errorf("policy.quiet_hours.holidays: %q (want fr, fr-alsace-moselle or none)", q.Holidays))
	}
	return errors.Join(errs...)
}
