package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r as indented JSON (the `relais report --json` and API
// format; field names are documented in docs/reports.md).
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: write JSON: %w", err)
	}
	return nil
}

// csvHeader is the CSV column order; one line per run, step and channel,
// then one total per run (step "*") and the campaign total (run "all").
var csvHeader = []string{"run", "step", "channel", "targeted", "refused", "refused_by", "pending",
	"sent", "delivered", "bounced", "failed", "ambiguous", "sms_segments",
	"unique_opens", "unique_machine_opens", "unique_clicks", "unique_machine_clicks",
	"responses", "unsubscribes", "conversions", "conversion_value", "currency",
	"cost", "cost_per_response", "roi",
	"delivery_rate", "open_rate", "click_rate", "response_rate", "conversion_rate", "unsubscribe_rate",
	"soft_bounces", "complaints", "bounce_rate", "soft_bounce_rate", "complaint_rate"}

// WriteCSV writes r as CSV for spreadsheets. Every text cell goes through
// SafeCell, so a campaign or step id cannot smuggle a formula in.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	write := func(run, step, channel string, m Metrics) {
		rec := []string{run, step, channel,
			itoa(m.Targeted), itoa(m.Refused), refusedBy(m.RefusedBy), itoa(m.Pending),
			itoa(m.Sent), itoa(m.Delivered), itoa(m.Bounced), itoa(m.Failed), itoa(m.Ambiguous), itoa(m.Segments),
			itoa(m.Opens), itoa(m.MachineOpens), itoa(m.Clicks), itoa(m.MachineClicks),
			itoa(m.Responses), itoa(m.Unsubscribes), itoa(m.Conversions), ftoa(m.ConversionValue), r.Currency,
			ftoa(m.Cost), ptoa(m.CostPerResponse), ptoa(m.ROI),
			ptoa(m.Rates.Delivery), ptoa(m.Rates.Open), ptoa(m.Rates.Click), ptoa(m.Rates.Response),
			ptoa(m.Rates.Conversion), ptoa(m.Rates.Unsubscribe),
			itoa(m.SoftBounces), itoa(m.Complaints), ptoa(m.Rates.Bounce), ptoa(m.Rates.SoftBounce), ptoa(m.Rates.Complaint)}
		for i := range rec {
			rec[i] = SafeCell(rec[i])
		}
		_ = cw.Write(rec) // the error is kept by the writer and returned by Error
	}
	_ = cw.Write(csvHeader)
	for _, run := range r.Runs {
		id := strconv.FormatInt(run.RunID, 10)
		for _, l := range run.Lines {
			write(id, l.StepID, l.Channel, l.Metrics)
		}
		write(id, "*", "*", run.Total)
	}
	write("all", "*", "*", r.Total)
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	return nil
}

// SafeCell neutralises spreadsheet formula injection (CWE-1236): a cell
// starting with = + - @, a tab or a carriage return is prefixed with a
// single quote so spreadsheets show it as text. A cell that is a plain
// number ("-0.25", "+33") is left alone: it cannot be a formula, and
// quoting it would turn a negative ROI into text.
func SafeCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && isDecimal(s) {
		return s
	}
	return "'" + s
}

// isDecimal reports whether s is only a sign, digits and one dot, so that
// forms ParseFloat accepts ("-Inf", "+0x1p3") are still quoted.
func isDecimal(s string) bool {
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9', c == '.':
		case (c == '-' || c == '+') && i == 0:
		default:
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ptoa(v *float64) string {
	if v == nil {
		return ""
	}
	return ftoa(*v)
}

// refusedBy formats reasons as "no_consent:3 opted_out:1", sorted.
func refusedBy(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+":"+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, " ")
}

// WriteTable writes r for a terminal: the funnel per run, step and
// channel with run and campaign totals, then money and rates, then the
// failure and refusal reasons.
func WriteTable(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	cur := r.Currency
	fmt.Fprintf(w, "campaign %s\n\n", r.CampaignID)
	fmt.Fprintln(tw, "run\tstep\tchannel\ttargeted\trefused\tsent\tdelivered\tbounced\tfailed\topens\t(machine)\tclicks\tresponses\tunsubs\tconversions\t")
	row := func(run, step, ch string, m Metrics) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", run, step, ch,
			m.Targeted, m.Refused, m.Sent, m.Delivered, m.Bounced, m.Failed+m.Ambiguous, m.Opens, m.MachineOpens,
			m.Clicks, m.Responses, m.Unsubscribes, m.Conversions)
	}
	money := func(run, step, ch string, m Metrics) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", run, step, ch,
			ftoa(m.Cost), ftoa(m.ConversionValue), pstr(m.CostPerResponse), pstr(m.ROI),
			pct(m.Rates.Delivery), pct(m.Rates.Open), pct(m.Rates.Click), pct(m.Rates.Response))
	}
	each := func(f func(run, step, ch string, m Metrics)) {
		for _, run := range r.Runs {
			id := strconv.FormatInt(run.RunID, 10)
			for _, l := range run.Lines {
				f(id, l.StepID, l.Channel, l.Metrics)
			}
			if len(run.Lines) > 1 {
				f(id, "total", "", run.Total)
			}
		}
		f("all", "total", "", r.Total)
	}
	each(row)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "run\tstep\tchannel\tcost %s\tvalue %s\tcost/response\tROI\tdelivery\topen\tclick\tresponse\t\n", cur, cur)
	each(money)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	if err := writeDeliverability(w, r, each); err != nil {
		return err
	}
	if len(r.Total.FailedBy) > 0 {
		fmt.Fprintf(w, "\nfailed, by reason:\n")
		for _, k := range slices.Sorted(maps.Keys(r.Total.FailedBy)) {
			fmt.Fprintf(w, "  %d  %s\n", r.Total.FailedBy[k], k)
		}
	}
	if len(r.Total.RefusedBy) > 0 {
		fmt.Fprintf(w, "\nrefused: %s\n", refusedBy(r.Total.RefusedBy))
	}
	writeVersions(w, r)
	for _, c := range slices.Sorted(maps.Keys(r.OtherCurrencies)) {
		fmt.Fprintf(w, "conversions in %s (not in ROI): %s\n", c, ftoa(r.OtherCurrencies[c]))
	}
	return nil
}

func pstr(v *float64) string {
	if v == nil {
		return "-"
	}
	return ftoa(*v)
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

// writeVersions lists the campaign version and git commit of each run.
func writeVersions(w io.Writer, r Report) {
	first := true
	for _, run := range r.Runs {
		if run.ContentHash == "" {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nversions:")
			first = false
		}
		commit := run.GitCommit
		if commit == "" {
			commit = "unknown"
		} else if len(commit) > 12 {
			commit = commit[:12]
		}
		fmt.Fprintf(w, "  run %d: version %s, git commit %s\n", run.RunID, shortHash(run.ContentHash), commit)
	}
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
