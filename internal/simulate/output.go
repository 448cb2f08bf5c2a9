package simulate

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

func (s *sim) result(starts []time.Time) *Result {
	res := &Result{Campaign: s.sp.ID, From: s.o.From, Until: s.until, Runs: starts, Timelines: []Timeline{}, Steps: []StepTotal{}, Days: []DayTotal{}}
	for _, k := range s.order {
		res.Timelines = append(res.Timelines, *s.timelines[k])
	}
	for _, st := range s.sp.Steps {
		res.Steps = append(res.Steps, *s.totals[st.ID])
	}
	days := make([]string, 0, len(s.days))
	for d := range s.days {
		days = append(days, d)
	}
	sort.Strings(days)
	for _, d := range days {
		res.Days = append(res.Days, DayTotal{Day: d, Sent: s.days[d]})
	}
	return res
}

// WriteText writes res as a timeline per recipient and totals per step and
// day, times in loc.
func WriteText(w io.Writer, res *Result, loc *time.Location) error {
	const layout = "Mon 2006-01-02 15:04"
	b := &strings.Builder{}
	fmt.Fprintf(b, "campaign %s, simulated %s → %s (%s)\n", res.Campaign, res.From.In(loc).Format(layout), res.Until.In(loc).Format(layout), loc)
	fmt.Fprintf(b, "runs: %d\n", len(res.Runs))
	for _, tl := range res.Timelines {
		fmt.Fprintf(b, "\n%s\n", tl.Recipient)
		tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
		for _, e := range tl.Entries {
			what := e.Action
			if e.Detail != "" {
				what += ": " + e.Detail
			}
			fmt.Fprintf(tw, "  %s\trun %d\t%s\t%s\t%s\n", e.At.In(loc).Format(layout), e.Run, dash(e.Step), dash(e.Channel), what)
		}
		tw.Flush()
	}
	b.WriteString("\nper step\n")
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  step\tsent\tdeferred\trefused\tskipped\tstopped")
	for _, st := range res.Steps {
		fmt.Fprintf(tw, "  %s\t%d%s\t%d\t%s\t%d\t%d\n", st.Step, st.Sent, counts(st.ByChannel), st.Deferred, refused(st.Refused), st.Skipped, st.Stopped)
	}
	tw.Flush()
	b.WriteString("\nper day\n")
	tw = tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	for _, d := range res.Days {
		c := counts(d.Sent)
		fmt.Fprintf(tw, "  %s\t%s\n", d.Day, c[2:len(c)-1])
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// counts formats a map as " (a 1, b 2)" in key order; "" when empty.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func refused(m map[string]int) string {
	n := 0
	for _, v := range m {
		n += v
	}
	return fmt.Sprint(n) + counts(m)
}
