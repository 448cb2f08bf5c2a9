package review

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WriteMarkdown writes r as a pull-request comment.
func WriteMarkdown(w io.Writer, r Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "## relais review\n\n")
	fmt.Fprintf(b, "Compared with `%s` (%s).\n\n", r.Base, short(r.BaseCommit))
	if len(r.Campaigns) == 0 {
		b.WriteString("No campaign or template changed.\n")
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(b, "**%d check(s) failed:** %s\n\n", len(r.Failed), "`"+strings.Join(r.Failed, "`, `")+"`")
	} else if len(r.Campaigns) > 0 {
		b.WriteString("All checks passed.\n\n")
	}
	for _, c := range r.Campaigns {
		writeCampaign(b, c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCampaign(b *strings.Builder, c Campaign) {
	fmt.Fprintf(b, "### %s — `%s` (%s)\n\n", c.ID, c.Path, c.Status)
	if c.BaseHash != "" || c.HeadHash != "" {
		fmt.Fprintf(b, "Version %s → %s\n\n", orDash(short(c.BaseHash)), orDash(short(c.HeadHash)))
	}
	if c.Status == "removed" {
		b.WriteString("The campaign file is removed.\n\n")
		return
	}
	b.WriteString("#### Validation\n\n")
	if len(c.Errors) == 0 {
		b.WriteString("✅ valid\n\n")
	} else {
		b.WriteString("❌ invalid:\n\n```text\n" + strings.Join(c.Errors, "\n") + "\n```\n\n")
	}
	if len(c.Steps) > 0 {
		b.WriteString("#### Audience\n\n| step | channel | base | proposed | change |\n|---|---|---:|---:|---:|\n")
		for _, s := range c.Steps {
			chans := map[string]bool{}
			for ch := range s.Head.ByChannel {
				chans[ch] = true
			}
			if s.Base != nil {
				for ch := range s.Base.ByChannel {
					chans[ch] = true
				}
			}
			name := s.Step
			if s.Head.FollowUp {
				name += " (follow-up, at most)"
			}
			for _, ch := range sortedSet(chans) {
				bn := -1
				if s.Base != nil {
					bn = s.Base.ByChannel[ch]
				}
				fmt.Fprintf(b, "| %s | %s | %s | %d | %s |\n", name, ch, countOrDash(bn), s.Head.ByChannel[ch], delta(bn, s.Head.ByChannel[ch]))
			}
			reasons := map[string]bool{}
			for r := range s.Head.ByReason {
				reasons[r] = true
			}
			if s.Base != nil {
				for r := range s.Base.ByReason {
					reasons[r] = true
				}
			}
			for _, r := range sortedSet(reasons) {
				bn := -1
				if s.Base != nil {
					bn = s.Base.ByReason[r]
				}
				fmt.Fprintf(b, "| %s | refused: %s | %s | %d | %s |\n", name, r, countOrDash(bn), s.Head.ByReason[r], delta(bn, s.Head.ByReason[r]))
			}
			fmt.Fprintf(b, "| %s | recipients | | | %d new, %d removed, %d unchanged |\n", name, s.Change.New, s.Change.Removed, s.Change.Unchanged)
		}
		b.WriteString("\n")
		if c.RowErrors > 0 {
			fmt.Fprintf(b, "%d invalid audience row(s) skipped.\n\n", c.RowErrors)
		}
	}
	if c.Currency != "" {
		d := money(c.Cost - c.BaseCost)
		if !strings.HasPrefix(d, "-") {
			d = "+" + d
		}
		fmt.Fprintf(b, "#### Estimated cost\n\n%s %s → **%s %s** (%s)\n\n", money(c.BaseCost), c.Currency, money(c.Cost), c.Currency, d)
	}
	if len(c.SMS) > 0 {
		b.WriteString("#### SMS length\n\n| step | channel | encoding | segments |\n|---|---|---|---|\n")
		for _, s := range c.SMS {
			seg := fmt.Sprint(s.Max)
			if s.Min != s.Max {
				seg = fmt.Sprintf("%d–%d", s.Min, s.Max)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", s.Step, s.Channel, s.Encoding, seg)
		}
		b.WriteString("\n")
	}
	if len(c.Previews) > 0 {
		b.WriteString("#### Previews\n\n")
		for _, p := range c.Previews {
			mark := ""
			if p.Changed {
				mark = " — changed"
			}
			fmt.Fprintf(b, "**%s / %s, sample recipient %d**%s\n\n", p.Step, p.Channel, p.Sample, mark)
			if p.Error != "" {
				fmt.Fprintf(b, "render error: %s\n\n", p.Error)
				continue
			}
			if p.Subject != "" {
				fmt.Fprintf(b, "Subject: %s\n\n", p.Subject)
			}
			b.WriteString("```text\n" + strings.ReplaceAll(p.Text, "```", "'''") + "\n```\n\n")
			if p.Image != "" {
				fmt.Fprintf(b, "First page: `%s`\n\n", p.Image)
			}
			if p.Note != "" {
				b.WriteString(p.Note + "\n\n")
			}
		}
	}
	b.WriteString("#### Compliance\n\n| check | step | status | detail |\n|---|---|---|---|\n")
	for _, ch := range c.Checks {
		icon := map[string]string{statusPass: "✅ pass", statusFail: "❌ fail", statusInfo: "ℹ️ info"}[ch.Status]
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", ch.Name, ch.Step, icon, strings.ReplaceAll(ch.Detail, "|", "\\|"))
	}
	b.WriteString("\n")
	if len(c.Firings) > 0 {
		tz := c.Timezone
		if tz == "" {
			tz = c.Firings[0].Location().String()
		}
		fmt.Fprintf(b, "#### Schedule\n\nNext firings (%s):\n\n", tz)
		for _, t := range c.Firings {
			fmt.Fprintf(b, "- %s\n", t.Format(time.RFC1123Z))
		}
		b.WriteString("\n")
	}
	if len(c.Links) > 0 {
		b.WriteString("#### Links\n\n| step | hosts | added | removed |\n|---|---|---|---|\n")
		for _, l := range c.Links {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", l.Step, orDash(strings.Join(l.Hosts, ", ")), orDash(strings.Join(l.Added, ", ")), orDash(strings.Join(l.Removed, ", ")))
		}
		b.WriteString("\n")
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func countOrDash(n int) string {
	if n < 0 {
		return "—"
	}
	return fmt.Sprint(n)
}

func delta(base, head int) string {
	if base < 0 {
		return "new"
	}
	return fmt.Sprintf("%+d", head-base)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// money formats an amount with at least 2 and at most 4 decimals, so a
// campaign of a few emails at 0.001 does not read as free.
func money(v float64) string {
	s := strconv.FormatFloat(math.Round(v*10000)/10000, 'f', 4, 64)
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
		s = s[:len(s)-1]
	}
	if s == "-0.00" {
		s = "0.00"
	}
	return s
}
