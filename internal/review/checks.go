package review

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/policy"
)

// Check names. They are stable: CI logs and tools match them.
const (
	CheckValid             = "valid"
	CheckUnsubscribe       = "email_unsubscribe"
	CheckSMSStop           = "sms_stop"
	CheckSender            = "sender_identified"
	CheckPostalOptOut      = "postal_opt_out"
	CheckQuietHours        = "quiet_hours"
	CheckConsentRule       = "consent_rule"
	CheckTransactional     = "transactional_purpose"
	statusPass, statusFail = "pass", "fail"
	statusInfo             = "info"
)

// Check is one compliance check of a campaign version.
type Check struct {
	Name   string `json:"name"`
	Step   string `json:"step,omitempty"`
	Status string `json:"status"` // pass, fail or info
	Detail string `json:"detail"`
}

// Failed reports a failing check.
func (c Check) Failed() bool { return c.Status == statusFail }

var (
	stopRe   = regexp.MustCompile(`(?i)\bSTOP\b`)
	optOutRe = regexp.MustCompile(`(?i)(oppos|désinscri|desinscri|bloctel|unsubscribe|object to|opt[ -]?out|ne plus recevoir)`)
)

// Checks runs the compliance checks on sp under rules. firings are the
// schedule's next start times (for the quiet-hours check).
func Checks(sp *campaign.Spec, rules policy.Rules, firings []time.Time) []Check {
	var out []Check
	marketing := sp.Purpose != campaign.Transactional
	add := func(name, step string, ok bool, detail string) {
		s := statusPass
		if !ok {
			s = statusFail
		}
		out = append(out, Check{Name: name, Step: step, Status: s, Detail: detail})
	}
	for i := range sp.Steps {
		st := &sp.Steps[i]
		chans := sp.ChannelsFor(st)
		if em := emailOf(st); em != nil && has(chans, "email") {
			if marketing {
				src := string(sp.Files[em.HTML]) + string(sp.Files[em.Text])
				ok := strings.Contains(src, ".Links.Unsubscribe")
				d := "unsubscribe link in the template; List-Unsubscribe and List-Unsubscribe-Post headers added by relais"
				if !ok {
					d = "no {{.Links.Unsubscribe}} link in the email template (relais adds the List-Unsubscribe headers, but the body must offer the link too)"
				}
				add(CheckUnsubscribe, st.ID, ok, d)
			}
			from := sp.Sender.Addresses["email"]
			addr, err := mail.ParseAddress(from)
			switch {
			case err != nil:
				add(CheckSender, st.ID, false, "sender.email is not an address")
			case addr.Name == "":
				add(CheckSender, st.ID, false, fmt.Sprintf("sender.email %q has no display name naming the advertiser", from))
			default:
				add(CheckSender, st.ID, true, fmt.Sprintf("email from %q", addr.Name))
			}
		}
		for _, ch := range []string{"sms", "mms"} {
			tc := textOf(st, ch)
			if tc == nil || !has(chans, ch) {
				continue
			}
			if marketing && tc.Text != "" {
				ok := stopRe.Match(sp.Files[tc.Text])
				d := "STOP mention present"
				if !ok {
					d = fmt.Sprintf("marketing %s text %s has no STOP opt-out mention", ch, tc.Text)
				}
				add(CheckSMSStop, st.ID, ok, d)
			}
			from := sp.Sender.Addresses["sms"]
			add(CheckSender, st.ID, strings.TrimSpace(from) != "", fmt.Sprintf("%s sender %q", ch, from))
		}
		if lt := letterOf(st); lt != nil && has(chans, "print") {
			if marketing {
				ok := optOutRe.Match(sp.Files[lt.Letter])
				d := "the letter tells how to object to postal prospecting"
				if !ok {
					d = "the letter does not mention the right to object to postal prospecting (e.g. « vous pouvez vous opposer … »)"
				}
				add(CheckPostalOptOut, st.ID, ok, d)
			}
			ok := sp.Sender.Postal != nil && strings.TrimSpace(sp.Sender.Postal.Name) != ""
			add(CheckSender, st.ID, ok, "letterhead sender.postal.name")
		}
		if marketing {
			out = append(out, Check{Name: CheckConsentRule, Step: st.ID, Status: statusInfo, Detail: consentRule(rules, chans)})
		}
		out = append(out, quietCheck(sp, st, rules, firings)...)
	}
	if !marketing {
		uses := false
		for _, t := range sp.Templates {
			for _, f := range t.Fields() {
				uses = uses || strings.HasPrefix(f.Path, ".Data")
			}
		}
		d := "the messages carry the payload of the transaction (.Data)"
		if !uses {
			d = "a transactional campaign whose messages use no .Data payload reads as a bulk message: declare it marketing, or render the transaction it serves"
		}
		add(CheckTransactional, "", uses, d)
	}
	return out
}

// quietCheck reports scheduled or dated marketing sends on a quiet-hours
// channel that would start while the window is closed (they would be
// deferred, not sent when the schedule says).
func quietCheck(sp *campaign.Spec, st *campaign.Step, rules policy.Rules, firings []time.Time) []Check {
	qh := rules.QuietHours
	if sp.Purpose == campaign.Transactional || !qh.Enabled {
		return nil
	}
	var chans []string
	for _, ch := range sp.ChannelsFor(st) {
		if has(qh.Channels, ch) {
			chans = append(chans, ch)
		}
	}
	if len(chans) == 0 {
		return nil
	}
	var times []time.Time
	switch {
	case st.At != nil:
		times = []time.Time{*st.At}
	case st.After > 0 || st.When != "":
		return []Check{{Name: CheckQuietHours, Step: st.ID, Status: statusPass, Detail: "follow-up: deferred to the window per recipient by the policy"}}
	default:
		times = firings
	}
	if len(times) == 0 {
		return []Check{{Name: CheckQuietHours, Step: st.ID, Status: statusPass, Detail: "no schedule: sends outside the window are deferred by the policy"}}
	}
	loc, err := time.LoadLocation(rules.Timezone)
	if err != nil {
		loc = time.UTC
	}
	var bad []string
	for _, t := range times {
		if !policy.Open(t, loc, qh) {
			bad = append(bad, t.In(loc).Format("Mon 2006-01-02 15:04"))
		}
	}
	if len(bad) > 0 {
		return []Check{{Name: CheckQuietHours, Step: st.ID, Status: statusFail,
			Detail: fmt.Sprintf("%s starts outside the %s–%s window (or on a public holiday): %s", strings.Join(chans, "/"), qh.Start, qh.End, strings.Join(bad, ", "))}}
	}
	return []Check{{Name: CheckQuietHours, Step: st.ID, Status: statusPass, Detail: "every start time is inside the window"}}
}

// consentRule says which consent rule the step's channels rely on.
func consentRule(rules policy.Rules, chans []string) string {
	var parts []string
	for _, ch := range chans {
		parts = append(parts, fmt.Sprintf("%s: person %s, business %s", ch, mode(rules, "person", ch), mode(rules, "business", ch)))
	}
	return strings.Join(parts, "; ")
}

func mode(rules policy.Rules, kind, ch string) policy.ConsentMode {
	if m, ok := rules.Consent[kind][ch]; ok {
		return m
	}
	if m, ok := policy.DefaultRules().Consent[kind][ch]; ok {
		return m
	}
	return policy.OptIn
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
