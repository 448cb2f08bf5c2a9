package web

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
)

// The charts are plain geometry computed here and drawn by
// templates/charts.html, so html/template escapes every label and no SVG
// is assembled from strings.

// Bar is one horizontal bar of a funnel or a refusal chart.
type Bar struct {
	Key   string // stable id for tests and CSS (funnel-sent …)
	Label string
	N     int
	Y     int
	W     float64 // bar width in px
	Share string  // "62.5 %" of the first bar
}

// BarChart is a list of horizontal bars in an SVG of Width × Height px.
type BarChart struct {
	Bars   []Bar
	Height int
	Width  int
}

const (
	barRow   = 34
	barWidth = 380.0 // px for the largest value
	// barValueX is where the value label starts after a bar's end (the
	// bars start at 160 px, after the right-aligned stage labels).
	barValueX = 168
	// chartWidth leaves room after the longest bar for the widest value
	// label, "1234567 · 100.0 %" at 13 px, so it is never clipped.
	chartWidth = barValueX + int(barWidth) + 150
)

// funnelStages are the steps a message goes through, in order.
func funnel(m report.Metrics) BarChart {
	stages := []struct {
		key, label string
		n          int
	}{
		{"targeted", "Targeted", m.Targeted},
		{"sent", "Sent", m.Sent},
		{"delivered", "Delivered", m.Delivered},
		{"opened", "Opened", m.Opens},
		{"clicked", "Clicked", m.Clicks},
		{"responses", "Responses", m.Responses},
		{"converted", "Converted", m.Converters},
	}
	c := BarChart{Height: len(stages)*barRow + 8, Width: chartWidth}
	top := max(m.Targeted, 1)
	for i, st := range stages {
		c.Bars = append(c.Bars, Bar{Key: "funnel-" + st.key, Label: st.label, N: st.n, Y: 4 + i*barRow,
			W: barWidth * float64(st.n) / float64(top), Share: share(st.n, m.Targeted)})
	}
	return c
}

// refusals draws the refusal reasons, largest first.
func refusals(by map[string]int) BarChart {
	reasons := slices.SortedFunc(maps.Keys(by), func(a, b string) int {
		return cmp.Or(cmp.Compare(by[b], by[a]), cmp.Compare(a, b))
	})
	c := BarChart{Height: max(len(reasons), 1)*barRow + 8, Width: chartWidth}
	top, total := 1, 0
	for _, r := range reasons {
		top = max(top, by[r])
		total += by[r]
	}
	for i, r := range reasons {
		c.Bars = append(c.Bars, Bar{Key: "refused-" + r, Label: r, N: by[r], Y: 4 + i*barRow,
			W: barWidth * float64(by[r]) / float64(top), Share: share(by[r], total)})
	}
	return c
}

func share(n, of int) string {
	if of == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(n)*100/float64(of), 'f', 1, 64) + " %"
}

// Column is one bucket of a timeline series.
type Column struct {
	X, Y, W, H float64
	N          int
	Title      string // "2027-03-20 09:00 UTC: 14"
}

// Series is one small chart of the timeline (sent, opened, …).
type Series struct {
	Key, Label string
	Max, Total int
	Columns    []Column
}

// Timeline is the hourly (or daily, for long campaigns) activity of a
// campaign as small multiples sharing one time axis.
type Timeline struct {
	Series       []Series
	From, To     string // axis labels
	Unit         string // "hour" or "day"
	Width, PlotH float64
}

// maxBuckets bounds the columns drawn: past two weeks of hours the
// timeline switches to days so bars stay visible.
const maxBuckets = 24 * 14

var timelineSeries = []struct{ key, label string }{
	{store.TimelineSent, "Sent"},
	{store.EventOpened, "Opened (human)"},
	{store.EventClicked, "Clicked"},
	{store.EventResponse, "Responses"},
	{store.EventUnsubscribed, "Unsubscribed"},
}

func timeline(points []report.Point) Timeline {
	t := Timeline{Width: 560, PlotH: 48, Unit: "hour"}
	if len(points) == 0 {
		return t
	}
	first, last := points[0].Hour, points[0].Hour
	for _, p := range points {
		first, last = minTime(first, p.Hour), maxTime(last, p.Hour)
	}
	step := time.Hour
	if last.Sub(first)/time.Hour+1 > maxBuckets {
		step, t.Unit = 24*time.Hour, "day"
		first = first.Truncate(step)
	}
	n := int(last.Sub(first)/step) + 1
	counts := map[string][]int{}
	for _, s := range timelineSeries {
		counts[s.key] = make([]int, n)
	}
	for _, p := range points {
		if c, ok := counts[p.Series]; ok {
			c[int(p.Hour.Sub(first)/step)] += p.N
		}
	}
	colW := t.Width / float64(n)
	layout := "2006-01-02 15:04 UTC"
	if t.Unit == "day" {
		layout = "2006-01-02"
	}
	t.From, t.To = first.Format(layout), first.Add(time.Duration(n-1)*step).Format(layout)
	for _, s := range timelineSeries {
		c := counts[s.key]
		se := Series{Key: "timeline-" + s.key, Label: s.label, Max: max(slices.Max(c), 0)}
		for i, v := range c {
			se.Total += v
			if v == 0 {
				continue
			}
			h := t.PlotH * float64(v) / float64(max(se.Max, 1))
			se.Columns = append(se.Columns, Column{X: float64(i) * colW, W: max(colW-1, 1), Y: t.PlotH - h, H: h, N: v,
				Title: fmt.Sprintf("%s: %d", first.Add(time.Duration(i)*step).Format(layout), v)})
		}
		t.Series = append(t.Series, se)
	}
	return t
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
