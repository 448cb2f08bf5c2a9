// Package report turns a campaign's ledger and events into the numbers
// direct marketing is judged by: the funnel per run, step and
// channel, rates, cost, cost per response and ROI. The counting happens in
// the database (store.ReportStore); this package only combines the groups
// and prices them.
package report

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/store"
)

// Metrics is the funnel of one slice of a campaign (a run, step and
// channel; a run; the whole campaign). Unique counts are messages (ledger
// rows) with at least one such event, so they add up across slices.
// Denominators of the rates are documented in docs/reports.md.
type Metrics struct {
	Targeted  int            `json:"targeted"` // ledger rows, whatever their state
	Refused   int            `json:"refused"`
	RefusedBy map[string]int `json:"refused_by"` // refusal reason → rows
	Pending   int            `json:"pending"`    // planned, deferred, claimed or submitting
	Sent      int            `json:"sent"`       // accepted + delivered + bounced
	Delivered int            `json:"delivered"`
	Bounced   int            `json:"bounced"` // hard bounces: the row is bounced
	// SoftBounces and Complaints are messages with a soft bounce or a
	// spam complaint reported after acceptance (internal/bounce).
	SoftBounces int `json:"soft_bounces"`
	Complaints  int `json:"complaints"`
	Failed      int `json:"failed"`    // permanent failure before the provider took it
	Ambiguous   int `json:"ambiguous"` // held for review, maybe sent
	Canceled    int `json:"canceled"`  // not sent: an operator canceled the run
	Segments    int `json:"sms_segments"`

	Opens         int `json:"unique_opens"`         // human
	MachineOpens  int `json:"unique_machine_opens"` // privacy proxies, scanners
	OpenEvents    int `json:"open_events"`          // every human open
	Clicks        int `json:"unique_clicks"`        // human
	MachineClicks int `json:"unique_machine_clicks"`
	ClickEvents   int `json:"click_events"`
	Responses     int `json:"responses"` // messages replied to, answered through their personal URL or converted
	Unsubscribes  int `json:"unsubscribes"`

	Conversions     int     `json:"conversions"` // conversion events
	Converters      int     `json:"converted_messages"`
	ConversionValue float64 `json:"conversion_value"` // in Report.Currency

	Cost            float64  `json:"cost"`
	CostPerResponse *float64 `json:"cost_per_response"` // null without responses
	ROI             *float64 `json:"roi"`               // (value − cost) / cost; null when cost is 0
	Rates           Rates    `json:"rates"`
}

// Rates are fractions (0.25 = 25 %); a rate whose denominator is 0 is nil.
type Rates struct {
	Delivery    *float64 `json:"delivery"`    // delivered / sent
	Open        *float64 `json:"open"`        // unique human opens / reached
	Click       *float64 `json:"click"`       // unique human clicks / reached
	Response    *float64 `json:"response"`    // responses / sent
	Conversion  *float64 `json:"conversion"`  // converted messages / sent
	Unsubscribe *float64 `json:"unsubscribe"` // unsubscribes / reached
	Bounce      *float64 `json:"bounce"`      // hard bounces / sent
	SoftBounce  *float64 `json:"soft_bounce"` // soft-bounced messages / sent
	Complaint   *float64 `json:"complaint"`   // complaints / reached
}

// Line is the funnel of one step and channel of one run.
type Line struct {
	RunID   int64  `json:"run_id"`
	StepID  string `json:"step"`
	Channel string `json:"channel"`
	Metrics
}

// RunReport is one run's total and its lines.
type RunReport struct {
	RunID int64 `json:"run_id"`
	// ContentHash is the campaign version the run sent and GitCommit the
	// commit that introduced it (set by Versions; "" when unknown).
	ContentHash string  `json:"content_hash,omitempty"`
	GitCommit   string  `json:"git_commit,omitempty"`
	Total       Metrics `json:"total"`
	Lines       []Line  `json:"lines"`
}

// Point is one hour of the timeline (see store.HourCount).
type Point struct {
	Hour   time.Time `json:"hour"`
	Series string    `json:"series"`
	N      int       `json:"n"`
}

// Report is a campaign's results.
type Report struct {
	CampaignID  string      `json:"campaign_id"`
	Currency    string      `json:"currency"` // of costs and conversion values
	GeneratedAt time.Time   `json:"generated_at"`
	Total       Metrics     `json:"total"`
	Runs        []RunReport `json:"runs"`
	Timeline    []Point     `json:"timeline"`
	// OtherCurrencies sums conversion values posted in a currency other
	// than Currency: they cannot be added to it, so ROI leaves them out.
	OtherCurrencies map[string]float64 `json:"other_currency_values,omitempty"`
	// Warnings are deliverability alerts: a complaint rate above
	// ComplaintWarnRate in a run or overall.
	Warnings []string `json:"warnings,omitempty"`
	// Approvals are the approvals of the campaign's versions after their
	// proofs (relais approve), oldest first; the caller fills them.
	Approvals []store.Approval `json:"approvals,omitempty"`
}

// Source is what Build reads: both store backends implement it.
type Source interface {
	store.ReportStore
}

// Build reports on campaignID with the unit costs of the campaign file's
// cost: (email, mms and print per message sent, sms per segment sent). A
// campaign without rows gives an empty report, not an error; store errors
// are wrapped.
func Build(ctx context.Context, src Source, campaignID string, costs campaign.Cost) (Report, error) {
	return BuildWith(ctx, src, campaignID, costs, builtinChannels())
}

// builtinChannels is the registry of reports built without one.
var builtinChannels = sync.OnceValue(builtin.Channels)

// BuildWith is Build for the given channels: a channel whose descriptor
// says SegmentCost is costed per segment sent, the others per message.
func BuildWith(ctx context.Context, src Source, campaignID string, costs campaign.Cost, channels *channel.Registry) (Report, error) {
	lg, err := src.LedgerGroups(ctx, campaignID)
	if err != nil {
		return Report{}, fmt.Errorf("report %s: %w", campaignID, err)
	}
	eg, err := src.EventGroups(ctx, campaignID)
	if err != nil {
		return Report{}, fmt.Errorf("report %s: %w", campaignID, err)
	}
	tl, err := src.Timeline(ctx, campaignID, time.Time{})
	if err != nil {
		return Report{}, fmt.Errorf("report %s: %w", campaignID, err)
	}
	r := Report{CampaignID: campaignID, Currency: costs.Currency, GeneratedAt: time.Now().UTC(), Timeline: []Point{}}
	type key struct {
		run           int64
		step, channel string
	}
	lines := map[key]*Line{}
	line := func(run int64, step, ch string) *Line {
		k := key{run, step, ch}
		l := lines[k]
		if l == nil {
			l = &Line{RunID: run, StepID: step, Channel: ch, Metrics: Metrics{RefusedBy: map[string]int{}}}
			lines[k] = l
		}
		return l
	}
	for _, g := range lg {
		l := line(g.RunID, g.StepID, g.Channel)
		segmented := false
		if d, ok := channels.Lookup(g.Channel); ok {
			segmented = d.SegmentCost
		}
		l.addLedger(g, costs, segmented)
	}
	for _, g := range eg {
		l := line(g.RunID, g.StepID, g.Channel)
		if g.Type == store.EventConverted && g.Currency != "" && costs.Currency != "" && g.Currency != costs.Currency {
			if r.OtherCurrencies == nil {
				r.OtherCurrencies = map[string]float64{}
			}
			r.OtherCurrencies[g.Currency] += g.Value
			g.Value = 0
		}
		l.addEvents(g)
	}
	keys := slices.SortedFunc(maps.Keys(lines), func(a, b key) int {
		return cmp.Or(cmp.Compare(b.run, a.run), // newest run first, as ListRuns
			cmp.Compare(a.step, b.step), cmp.Compare(a.channel, b.channel))
	})
	r.Total.RefusedBy = map[string]int{}
	for _, k := range keys {
		l := lines[k]
		l.finish()
		if n := len(r.Runs); n == 0 || r.Runs[n-1].RunID != k.run {
			r.Runs = append(r.Runs, RunReport{RunID: k.run, Total: Metrics{RefusedBy: map[string]int{}}})
		}
		run := &r.Runs[len(r.Runs)-1]
		run.Lines = append(run.Lines, *l)
		run.Total.add(l.Metrics)
		r.Total.add(l.Metrics)
	}
	for i := range r.Runs {
		r.Runs[i].Total.finish()
	}
	r.Total.finish()
	if r.Runs == nil {
		r.Runs = []RunReport{}
	}
	for _, h := range tl {
		r.Timeline = append(r.Timeline, Point{Hour: h.Hour, Series: h.Series, N: h.N})
	}
	r.Warnings = complaintWarnings(r)
	return r, nil
}

// addLedger counts a ledger group and prices what was sent.
func (m *Metrics) addLedger(g store.LedgerGroup, costs campaign.Cost, segmented bool) {
	m.Targeted += g.Rows
	if !g.State.Terminal() {
		m.Pending += g.Rows
		return
	}
	switch g.State {
	case store.Refused:
		m.Refused += g.Rows
		reason := g.Reason
		if reason == "" {
			reason = "unspecified"
		}
		m.RefusedBy[reason] += g.Rows
	case store.Accepted, store.Delivered, store.Bounced:
		m.Sent += g.Rows
		switch g.State {
		case store.Delivered:
			m.Delivered += g.Rows
		case store.Bounced:
			m.Bounced += g.Rows
		}
		unit := costs.PerUnit[g.Channel]
		if segmented {
			m.Segments += g.Segments
			m.Cost += unit * float64(g.Segments)
		} else {
			m.Cost += unit * float64(g.Rows)
		}
	case store.Failed:
		m.Failed += g.Rows
	case store.Ambiguous:
		m.Ambiguous += g.Rows
	case store.Canceled:
		m.Canceled += g.Rows
	}
}

// addEvents counts an event group.
func (m *Metrics) addEvents(g store.EventGroup) {
	switch g.Type {
	case store.EventOpened:
		if g.Machine {
			m.MachineOpens += g.Messages
		} else {
			m.Opens += g.Messages
			m.OpenEvents += g.Events
		}
	case store.EventClicked:
		if g.Machine {
			m.MachineClicks += g.Messages
		} else {
			m.Clicks += g.Messages
			m.ClickEvents += g.Events
		}
	case store.EventResponse:
		m.Responses += g.Messages
	case store.EventUnsubscribed:
		m.Unsubscribes += g.Messages
	case store.EventConverted:
		// A conversion is a business fact even when a machine flag was
		// set by mistake: count every one.
		m.Conversions += g.Events
		m.ConversionValue += g.Value
	case store.EventConvertedMessage:
		m.Converters += g.Messages
	case store.EventSoftBounced:
		m.SoftBounces += g.Messages
	case store.EventComplained:
		m.Complaints += g.Messages
	}
}

// add sums o into m (the counts; finish derives the rest).
func (m *Metrics) add(o Metrics) {
	m.Targeted += o.Targeted
	m.Refused += o.Refused
	for k, v := range o.RefusedBy {
		m.RefusedBy[k] += v
	}
	m.Pending += o.Pending
	m.Sent += o.Sent
	m.Delivered += o.Delivered
	m.Bounced += o.Bounced
	m.SoftBounces += o.SoftBounces
	m.Complaints += o.Complaints
	m.Failed += o.Failed
	m.Ambiguous += o.Ambiguous
	m.Canceled += o.Canceled
	m.Segments += o.Segments
	m.Opens += o.Opens
	m.MachineOpens += o.MachineOpens
	m.OpenEvents += o.OpenEvents
	m.Clicks += o.Clicks
	m.MachineClicks += o.MachineClicks
	m.ClickEvents += o.ClickEvents
	m.Responses += o.Responses
	m.Unsubscribes += o.Unsubscribes
	m.Conversions += o.Conversions
	m.Converters += o.Converters
	m.ConversionValue += o.ConversionValue
	m.Cost += o.Cost
}

// finish rounds money to four decimals and derives the rates, cost
// per response and ROI.
func (m *Metrics) finish() {
	m.Cost = round4(m.Cost)
	m.ConversionValue = round4(m.ConversionValue)
	reached := m.Sent - m.Bounced
	m.Rates = Rates{
		Delivery:    ratio(float64(m.Delivered), m.Sent),
		Open:        ratio(float64(m.Opens), reached),
		Click:       ratio(float64(m.Clicks), reached),
		Response:    ratio(float64(m.Responses), m.Sent),
		Conversion:  ratio(float64(m.Converters), m.Sent),
		Unsubscribe: ratio(float64(m.Unsubscribes), reached),
		Bounce:      ratio(float64(m.Bounced), m.Sent),
		SoftBounce:  ratio(float64(m.SoftBounces), m.Sent),
		Complaint:   ratio(float64(m.Complaints), reached),
	}
	m.CostPerResponse = nil
	if m.Responses > 0 {
		v := round4(m.Cost / float64(m.Responses))
		m.CostPerResponse = &v
	}
	m.ROI = nil
	if m.Cost > 0 {
		v := round4((m.ConversionValue - m.Cost) / m.Cost)
		m.ROI = &v
	}
}

func ratio(n float64, d int) *float64 {
	if d <= 0 {
		return nil
	}
	v := round4(n / float64(d))
	return &v
}

// round4 keeps four decimals: unit costs like 0.001 € times many messages
// accumulate float noise that would otherwise show in JSON and CSV.
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// Versions names the campaign version of each run of r: version returns
// a run's content hash and the git commit that introduced it. An audit
// needs to know exactly what each run sent, not only how it did.
func (r *Report) Versions(version func(runID int64) (hash, commit string)) {
	for i := range r.Runs {
		r.Runs[i].ContentHash, r.Runs[i].GitCommit = version(r.Runs[i].RunID)
	}
}
