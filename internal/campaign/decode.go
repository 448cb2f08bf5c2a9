package campaign

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/render"
)

// Known keys per mapping. They are the contract of the campaign format (docs/campaign-format.md): keys may be
// added here, never renamed or dropped. The keys named after channels
// (step blocks, sender, limits, cost) come from the channel registry.
var (
	// TopLevelKeys lists every key a campaign file may have at its top
	// level (the JSON Schema in docs/ is tested against it).
	TopLevelKeys = []string{"id", "name", "purpose", "audience", "channels", "sender", "steps", "schedule", "limits", "cost", "on_ambiguous",
		"max_recipients", "transactional_reason", "link_hosts", "approval", "proof"}
	audienceKeys   = []string{"source", "file", "mapping", "where", "top", "database", "query"}
	topKeys        = []string{"by", "percent"}
	postalKeys     = []string{"name", "lines"}
	stepBaseKeys   = []string{"id", "at", "after", "when", "channels"}
	scheduleKeys   = []string{"cron", "timezone"}
	knownSources   = []string{"contacts", "file", "query"}
	knownPurposes  = []string{Marketing, Transactional}
	knownAmbiguous = []string{"hold", "resend"}
	knownApproval  = []string{ApprovalNone, ApprovalRequired}
	proofKeys      = []string{"to"}
	// limitsExtra and costExtra are the keys of limits and cost that are
	// not channel names.
	limitsExtra = []string{"frequency_cap", "sms_segments"}
	costExtra   = []string{"currency"}
)

// senderPostal is the sender key of the postal block of letters.
const senderPostal = "postal"

// stepKeys, limitsKeys and costKeys list the keys of those mappings: the
// fixed ones around the channel names, in the documented order.
func (d *decoder) stepKeys() []string {
	return append(append([]string(nil), stepBaseKeys...), d.reg.Names()...)
}

func (d *decoder) limitsKeys() []string { return append(d.reg.Names(), limitsExtra...) }

func (d *decoder) costKeys() []string {
	return append(append([]string(nil), costExtra...), d.reg.Names()...)
}

// senderKeys are the channels' sender keys, then postal.
func (d *decoder) senderKeys() []string {
	var out []string
	for _, ch := range d.reg.All() {
		if ch.SenderKey != "" && !contains(out, ch.SenderKey) {
			out = append(out, ch.SenderKey)
		}
	}
	return append(out, senderPostal)
}

// decoder walks the yaml.Node tree, collecting every problem with its
// position instead of stopping at the first one.
type decoder struct {
	file string
	reg  *channel.Registry
	errs []Error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// mapping calls fn for each key of n in file order, rejecting unknown
// keys (with the closest known key as a hint) and duplicates.
func (d *decoder) mapping(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		switch {
		case !contains(known, key):
			msg := fmt.Sprintf("unknown key %q in %s", key, what)
			if c := render.Closest(key, known); c != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", c)
			}
			d.errorf(k, "%s", msg)
		case seen[key]:
			d.errorf(k, "duplicate key %q in %s", key, what)
		default:
			seen[key] = true
			fn(key, k, v)
		}
	}
}

func (d *decoder) str(v *yaml.Node, what string) string {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		d.errorf(v, "%s must be a string", what)
		return ""
	}
	return v.Value
}

func (d *decoder) strList(v *yaml.Node, what string) []string {
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return []string{v.Value}
	}
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, "%s must be a list of strings", what)
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		out = append(out, d.str(e, what+" item"))
	}
	return out
}

func (d *decoder) boolean(v *yaml.Node, what string) bool {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
		d.errorf(v, "%s must be true or false", what)
	}
	return b
}

func (d *decoder) float(v *yaml.Node, what string) float64 {
	f, err := strconv.ParseFloat(v.Value, 64)
	if v.Kind != yaml.ScalarNode || err != nil {
		d.errorf(v, "%s must be a number", what)
	}
	return f
}

func (d *decoder) oneOf(v *yaml.Node, what string, allowed []string) string {
	s := d.str(v, what)
	if s != "" && !contains(allowed, s) {
		msg := fmt.Sprintf("%s %q is not one of %s", what, s, strings.Join(allowed, ", "))
		if c := render.Closest(s, allowed); c != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", c)
		}
		d.errorf(v, "%s", msg)
	}
	return s
}

// parseDuration accepts Go durations plus days ("3d", "1d12h"); a bare
// number is an error because "72" could mean hours or minutes.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("duration %q has no unit (write e.g. %sh, %sd or %sm)", s, s, s, s)
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q (units: d, h, m, s)", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 {
		return 0, fmt.Errorf("bad duration %q (units: d, h, m, s)", s)
	}
	return days + dur, nil
}

// ParseRate reads a rate as campaign files and the configuration write
// it ("50/s", "500/h", "3/7d").
func ParseRate(s string) (Rate, error) {
	n, per, err := parseRate(s)
	return Rate{N: n, Per: per}, err
}

// parseRate parses "N/unit" or "N/duration": "50/s", "3/7d".
func parseRate(s string) (int, time.Duration, error) {
	num, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if !ok || err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("bad rate %q (write N/s, N/m, N/h or N/<duration> such as 3/7d)", s)
	}
	per = strings.TrimSpace(per)
	switch per {
	case "s", "m", "h", "d":
		per = "1" + per
	}
	dur, err := parseDuration(per)
	if err != nil || dur <= 0 {
		return 0, 0, fmt.Errorf("bad rate %q: period %q needs a unit (s, m, h, d)", s, per)
	}
	return n, dur, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortErrors orders errors by file, line and column so output is stable.
func sortErrors(errs []Error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// linkHosts decodes link_hosts: a list of bare host names (no scheme,
// port, path or wildcard), kept in lower case.
func (d *decoder) linkHosts(v *yaml.Node) []string {
	hosts := d.strList(v, "link_hosts")
	var out []string
	for i, h := range hosts {
		n := v
		if v.Kind == yaml.SequenceNode {
			n = v.Content[i]
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if !validHost(h) {
			d.errorf(n, "link_hosts item %q must be a host name such as shop.example (no scheme, port, path or wildcard)", hosts[i])
			continue
		}
		if !contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// validHost reports whether h is a DNS host name: dot-separated labels of
// letters, digits and inner hyphens.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
