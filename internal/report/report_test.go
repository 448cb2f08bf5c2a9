package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/report"
)

func f(v float64) *float64 { return &v }

// The seed (seed_test.go) and the numbers a marketer would count by hand
// from it. Costs: email 0.001, sms 0.065 per segment, print 0.70 EUR.
func TestBuildExactNumbers(t *testing.T) {
	emailA := report.Metrics{FailedBy: map[string]int{}, Targeted: 10, Refused: 1, RefusedBy: map[string]int{"no_consent": 1}, Pending: 1,
		Sent: 8, Delivered: 1, Bounced: 1, Opens: 2, MachineOpens: 2, OpenEvents: 4, Clicks: 1, MachineClicks: 1,
		ClickEvents: 2, Responses: 2, Unsubscribes: 1, Conversions: 3, Converters: 2, ConversionValue: 150.5,
		Cost: 0.008, CostPerResponse: f(0.004), ROI: f(18811.5),
		Rates: report.Rates{Delivery: f(0.125), Open: f(0.2857), Click: f(0.1429), Response: f(0.25), Conversion: f(0.25), Unsubscribe: f(0.1429), Bounce: f(0.125), SoftBounce: f(0), Complaint: f(0)}}
	smsA := report.Metrics{FailedBy: map[string]int{"21614": 1}, Targeted: 4, Refused: 1, RefusedBy: map[string]int{"opted_out": 1}, Sent: 2, Delivered: 2,
		Failed: 1, Segments: 3, Responses: 1, Cost: 0.195, CostPerResponse: f(0.195), ROI: f(-1),
		Rates: report.Rates{Delivery: f(1), Open: f(0), Click: f(0), Response: f(0.5), Conversion: f(0), Unsubscribe: f(0), Bounce: f(0), SoftBounce: f(0), Complaint: f(0)}}
	printA := report.Metrics{FailedBy: map[string]int{}, Targeted: 3, RefusedBy: map[string]int{}, Sent: 3, Responses: 1, Cost: 2.1,
		CostPerResponse: f(2.1), ROI: f(-1),
		Rates: report.Rates{Delivery: f(0), Open: f(0), Click: f(0), Response: f(0.3333), Conversion: f(0), Unsubscribe: f(0), Bounce: f(0), SoftBounce: f(0), Complaint: f(0)}}
	relanceA := report.Metrics{FailedBy: map[string]int{}, Targeted: 2, RefusedBy: map[string]int{}, Sent: 1, Ambiguous: 1, Segments: 1, Cost: 0.065,
		ROI: f(-1), Rates: report.Rates{Delivery: f(0), Open: f(0), Click: f(0), Response: f(0), Conversion: f(0), Unsubscribe: f(0), Bounce: f(0), SoftBounce: f(0), Complaint: f(0)}}
	totalA := report.Metrics{FailedBy: map[string]int{"21614": 1}, Targeted: 19, Refused: 2, RefusedBy: map[string]int{"no_consent": 1, "opted_out": 1}, Pending: 1,
		Sent: 14, Delivered: 3, Bounced: 1, Failed: 1, Ambiguous: 1, Segments: 4, Opens: 2, MachineOpens: 2, OpenEvents: 4,
		Clicks: 1, MachineClicks: 1, ClickEvents: 2, Responses: 4, Unsubscribes: 1, Conversions: 3, Converters: 2,
		ConversionValue: 150.5, Cost: 2.368, CostPerResponse: f(0.592), ROI: f(62.5557),
		Rates: report.Rates{Delivery: f(0.2143), Open: f(0.1538), Click: f(0.0769), Response: f(0.2857), Conversion: f(0.1429), Unsubscribe: f(0.0769), Bounce: f(0.0714), SoftBounce: f(0), Complaint: f(0)}}
	emailB := report.Metrics{FailedBy: map[string]int{}, Targeted: 2, RefusedBy: map[string]int{}, Sent: 2, Opens: 1, OpenEvents: 1, Cost: 0.002, ROI: f(-1),
		Rates: report.Rates{Delivery: f(0), Open: f(0.5), Click: f(0), Response: f(0), Conversion: f(0), Unsubscribe: f(0), Bounce: f(0), SoftBounce: f(0), Complaint: f(0)}}
	total := report.Metrics{FailedBy: map[string]int{"21614": 1}, Targeted: 21, Refused: 2, RefusedBy: map[string]int{"no_consent": 1, "opted_out": 1}, Pending: 1,
		Sent: 16, Delivered: 3, Bounced: 1, Failed: 1, Ambiguous: 1, Segments: 4, Opens: 3, MachineOpens: 2, OpenEvents: 5,
		Clicks: 1, MachineClicks: 1, ClickEvents: 2, Responses: 4, Unsubscribes: 1, Conversions: 3, Converters: 2,
		ConversionValue: 150.5, Cost: 2.37, CostPerResponse: f(0.5925), ROI: f(62.5021),
		Rates: report.Rates{Delivery: f(0.1875), Open: f(0.2), Click: f(0.0667), Response: f(0.25), Conversion: f(0.125), Unsubscribe: f(0.0667), Bounce: f(0.0625), SoftBounce: f(0), Complaint: f(0)}}
	h := func(hour int) time.Time { return time.Date(2027, 3, 20, hour, 0, 0, 0, time.UTC) }
	wantTimeline := []report.Point{
		{h(9), "clicked", 2}, {h(9), "opened", 4}, {h(9), "sent", 14},
		{h(10), "opened", 1}, {h(10), "sent", 2}, {h(10), "unsubscribed", 1},
		{h(11), "response", 5},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			sd := seed(t, s)
			r, err := report.Build(t.Context(), s, "printemps", costs)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Runs) != 2 || r.Runs[0].RunID != sd.runB || r.Runs[1].RunID != sd.runA {
				t.Fatalf("runs %+v, want run %d then %d", r.Runs, sd.runB, sd.runA)
			}
			tests := []struct {
				name string
				got  report.Metrics
				want report.Metrics
			}{
				{"run A annonce email", lineOf(t, r.Runs[1], "annonce", "email"), emailA},
				{"run A annonce sms", lineOf(t, r.Runs[1], "annonce", "sms"), smsA},
				{"run A annonce print", lineOf(t, r.Runs[1], "annonce", "print"), printA},
				{"run A relance sms", lineOf(t, r.Runs[1], "relance", "sms"), relanceA},
				{"run A total", r.Runs[1].Total, totalA},
				{"run B annonce email", lineOf(t, r.Runs[0], "annonce", "email"), emailB},
				{"campaign total", r.Total, total},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { sameMetrics(t, tc.got, tc.want) })
			}
			if !reflect.DeepEqual(r.Timeline, wantTimeline) {
				t.Errorf("timeline\n got %v\nwant %v", r.Timeline, wantTimeline)
			}
			if !reflect.DeepEqual(r.OtherCurrencies, map[string]float64{"USD": 10}) {
				t.Errorf("other currencies %v, want USD 10", r.OtherCurrencies)
			}
			empty, err := report.Build(t.Context(), s, "nothing-sent", costs)
			if err != nil || empty.Total.Targeted != 0 || len(empty.Runs) != 0 || empty.Total.ROI != nil {
				t.Errorf("empty campaign: %+v, %v", empty.Total, err)
			}
		})
	}
}

func lineOf(t *testing.T, run report.RunReport, step, channel string) report.Metrics {
	t.Helper()
	for _, l := range run.Lines {
		if l.StepID == step && l.Channel == channel {
			return l.Metrics
		}
	}
	t.Fatalf("run %d has no line %s/%s", run.RunID, step, channel)
	return report.Metrics{}
}

// sameMetrics compares through JSON so pointers compare by value and a
// difference names the field.
func sameMetrics(t *testing.T, got, want report.Metrics) {
	t.Helper()
	var g, w map[string]any
	for _, p := range []struct {
		m   report.Metrics
		dst *map[string]any
	}{{got, &g}, {want, &w}} {
		b, err := json.Marshal(p.m)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, p.dst); err != nil {
			t.Fatal(err)
		}
	}
	for k, wv := range w {
		if gv := g[k]; !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s = %v, want %v", k, gv, wv)
		}
	}
}

func TestWriters(t *testing.T) {
	s := backends[0].open(t)
	seed(t, s)
	r, err := report.Build(t.Context(), s, "printemps", costs)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("json round trip", func(t *testing.T) {
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, r); err != nil {
			t.Fatal(err)
		}
		var back report.Report
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if back.Total.Sent != 16 || *back.Total.ROI != 62.5021 || !strings.Contains(buf.String(), `"unique_opens": 3`) {
			t.Errorf("JSON lost numbers: %s", buf.String())
		}
	})
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := report.WriteCSV(&buf, r); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// header, 5 lines, 2 run totals, campaign total
		if len(recs) != 9 {
			t.Fatalf("%d records, want 9", len(recs))
		}
		last := map[string]string{}
		for i, h := range recs[0] {
			last[h] = recs[len(recs)-1][i]
		}
		for k, v := range map[string]string{"run": "all", "sent": "16", "cost": "2.37", "roi": "62.5021",
			"refused_by": "no_consent:1 opted_out:1", "unique_opens": "3", "currency": "EUR"} {
			if last[k] != v {
				t.Errorf("total %s = %q, want %q", k, last[k], v)
			}
		}
	})
	t.Run("table", func(t *testing.T) {
		var buf bytes.Buffer
		if err := report.WriteTable(&buf, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"campaign printemps", "62.5021", "refused: no_consent:1 opted_out:1", "conversions in USD (not in ROI): 10"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestSafeCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"formula", `=HYPERLINK("http://evil.example","x")`, `'=HYPERLINK("http://evil.example","x")`},
		{"plus", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"minus formula", "-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"at", "@SUM(1+1)", "'@SUM(1+1)"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"negative number", "-0.25", "-0.25"},
		{"signed integer", "+33", "+33"},
		{"infinity is not a plain number", "-Inf", "'-Inf"},
		{"hex float is not a plain number", "+0x1p3", "'+0x1p3"},
		{"plain text", "printemps-2027", "printemps-2027"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := report.SafeCell(tc.in); got != tc.want {
				t.Errorf("SafeCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestCSVInjection writes a report whose ids are formulas: no cell of the
// file may start with a formula character unless it is a number.
func TestCSVInjection(t *testing.T) {
	r := report.Report{CampaignID: "=1+1", Currency: "@EUR", Runs: []report.RunReport{{RunID: 1, Lines: []report.Line{
		{RunID: 1, StepID: "=HYPERLINK(\"http://evil.example\")", Channel: "+email",
			Metrics: report.Metrics{RefusedBy: map[string]int{"-x": 1}, ROI: f(-0.5)}},
	}}}}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i, rec := range recs {
		for j, cell := range rec {
			if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				continue
			}
			if _, err := fmt.Sscanf(cell, "%g", new(float64)); err != nil || strings.ContainsAny(cell[1:], "=+@|!(") {
				t.Errorf("record %d cell %d = %q starts with a formula character", i, j, cell)
			}
			checked++
		}
	}
	if checked == 0 || !strings.Contains(out, `'=HYPERLINK`) || !strings.Contains(out, ",-0.5,") || !strings.Contains(out, "'-x:1") {
		t.Errorf("CSV not as expected:\n%s", out)
	}
}
