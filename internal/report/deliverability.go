package report

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// ComplaintWarnRate is the complaint rate above which a report warns:
// 0.1 %, a third of the 0.3 % at which Gmail starts rejecting a bulk
// sender's mail, so there is time to act.
const ComplaintWarnRate = 0.001

// complaintWarnings lists the runs, and the campaign, whose complaint rate
// is above ComplaintWarnRate.
func complaintWarnings(r Report) []string {
	var out []string
	warn := func(what string, m Metrics) {
		if m.Rates.Complaint != nil && *m.Rates.Complaint > ComplaintWarnRate {
			out = append(out, fmt.Sprintf("%s: complaint rate %s (%d of %d reached) is above 0.1 %%; Gmail rejects bulk senders above 0.3 %%",
				what, pct(m.Rates.Complaint), m.Complaints, m.Sent-m.Bounced))
		}
	}
	for _, run := range r.Runs {
		warn("run "+strconv.FormatInt(run.RunID, 10), run.Total)
	}
	if len(r.Runs) > 1 {
		warn("campaign "+r.CampaignID, r.Total)
	}
	return out
}

// writeDeliverability writes the email outcome table (delivered, hard
// and soft bounces, complaints and their rates) and the warnings.
func writeDeliverability(w io.Writer, r Report, each func(func(run, step, ch string, m Metrics))) error {
	if r.Total.Bounced+r.Total.SoftBounces+r.Total.Complaints+r.Total.Delivered == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tstep\tchannel\tdelivered\thard bounces\tsoft bounces\tcomplaints\tbounce\tsoft bounce\tcomplaint\t")
	each(func(run, step, ch string, m Metrics) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", run, step, ch, m.Delivered, m.Bounced, m.SoftBounces,
			m.Complaints, pct(m.Rates.Bounce), pct(m.Rates.SoftBounce), pct2(m.Rates.Complaint))
	})
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	return nil
}

// pct2 is pct with two decimals (complaint rates matter at 0.1 %).
func pct2(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v*100, 'f', 2, 64) + "%"
}
