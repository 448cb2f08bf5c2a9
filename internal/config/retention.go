package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// Retention defaults: prospects are kept 3 years after their last activity
// (the CNIL's reference for prospection data, see rights.DefaultRetention),
// and the job runs at night, when erasing does not compete with sends.
const (
	DefaultRetentionAge  = Age(3 * 365 * 24 * time.Hour)
	DefaultRetentionCron = "30 3 * * *"
)

// Retention is the daily erasure of inactive prospects that the scheduler
// role of `relais serve` runs (`relais contacts retention` runs it by
// hand). It is on by default because keeping prospects forever is what
// the GDPR forbids; turning it off means running the command some other
// way.
type Retention struct {
	// Enabled registers the periodic job. Default: true.
	Enabled bool `yaml:"enabled"`
	// OlderThan is the retention period: 3y, 18m (months of 30 days),
	// 90d, or a Go duration. Default: 3y.
	OlderThan Age `yaml:"older_than"`
	// Cron is when the job runs, a 5-field cron expression evaluated in
	// Europe/Paris unless it starts with CRON_TZ=<zone>. Default:
	// "30 3 * * *" (03:30 every day).
	Cron string `yaml:"cron"`
}

// DefaultRetentionConfig returns the retention defaults.
func DefaultRetentionConfig() Retention {
	return Retention{Enabled: true, OlderThan: DefaultRetentionAge, Cron: DefaultRetentionCron}
}

// Age is a period written the way data-protection texts state them:
// years and months as well as Go durations.
type Age time.Duration

// ParseAge reads a period: a whole number of years (y, 365 days),
// months (m, 30 days) or days (d), or a positive Go duration ("2160h").
// It fails on anything else, zero or negative.
func ParseAge(s string) (Age, error) {
	s = strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"m", 30 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			if v, err := strconv.Atoi(n); err == nil {
				if v <= 0 {
					return 0, fmt.Errorf("%q: must be positive", s)
				}
				return Age(time.Duration(v) * u.unit), nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want 3y, 18m, 90d or a positive Go duration", s)
	}
	return Age(d), nil
}

// UnmarshalYAML reads an Age with ParseAge.
func (a *Age) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParseAge(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*a = v
	return nil
}

// Duration returns a as a time.Duration.
func (a Age) Duration() time.Duration { return time.Duration(a) }

// validate names the retention key at fault.
func (r Retention) validate(bad func(key, format string, a ...any)) {
	if !r.Enabled {
		return
	}
	if r.OlderThan <= 0 {
		bad("retention.older_than", "must be a positive period such as 3y")
	}
	if _, err := cron.ParseStandard(r.Cron); err != nil {
		bad("retention.cron", "bad cron expression %q: %v", r.Cron, err)
	}
}
