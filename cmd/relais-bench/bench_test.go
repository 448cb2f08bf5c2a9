package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

func TestGroupThousands(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "12", "12"},
		{"three", "999", "999"},
		{"four", "1000", "1,000"},
		{"million", "1000000", "1,000,000"},
		{"negative", "-12345", "-12,345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupThousands(tt.in); got != tt.want {
				t.Errorf("groupThousands(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckStatus(t *testing.T) {
	atLeast := func(v, _ float64) bool { return v >= 100 }
	tests := []struct {
		name      string
		value     float64
		baseline  float64
		want      string
		wantRatio float64
	}{
		{"pass with baseline", 150, 300, statusPass, 0.5},
		{"fail", 50, 100, statusFail, 0.5},
		{"no baseline", 100, math.NaN(), statusPass, math.NaN()},
		{"not measured", math.NaN(), 10, statusNotMeasured, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := check("b", "m", tt.value, "u", "≥ 100", tt.baseline, "base", atLeast)
			if r.Status != tt.want {
				t.Errorf("status %q, want %q", r.Status, tt.want)
			}
			if math.IsNaN(tt.wantRatio) != math.IsNaN(r.Ratio) || (!math.IsNaN(r.Ratio) && math.Abs(r.Ratio-tt.wantRatio) > 1e-9) {
				t.Errorf("ratio %v, want %v", r.Ratio, tt.wantRatio)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"median", 50, 5},
		{"p95", 95, 10},
		{"p10", 10, 1},
		{"max", 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(xs, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
}

func TestProcParsing(t *testing.T) {
	tests := []struct {
		name, text, field string
		want              int64
	}{
		{"meminfo", "MemTotal:       24684000 kB\nMemFree: 1 kB\n", "MemTotal", 24684000},
		{"status", "Name:\trelais\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n", "VmHWM", 123456},
		{"absent", "Name:\trelais\n", "VmHWM", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := procField(strings.NewReader(tt.text), tt.field); got != tt.want {
				t.Errorf("procField = %d, want %d", got, tt.want)
			}
		})
	}
	if got := cpuModel(strings.NewReader("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n")); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		only    []string
	}{
		{"defaults", nil, false, nil},
		{"only two", []string{"-only", "email, sms"}, false, []string{"email", "sms"}},
		{"unknown benchmark", []string{"-only", "emails"}, true, nil},
		{"stray argument", []string{"extra"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(o.only) != len(tt.only) {
				t.Errorf("only = %v, want %v", o.only, tt.only)
			}
			for _, n := range tt.only {
				if !o.only[n] {
					t.Errorf("only lacks %q", n)
				}
			}
		})
	}
}

// TestBenchRepoValidates loads every campaign the harness writes with the
// real loader, so a benchmark never fails on a campaign relais rejects.
func TestBenchRepoValidates(t *testing.T) {
	dir := t.TempDir()
	camps := []campaignDef{
		{ID: "mkt-email", Purpose: "marketing", Channel: "email", Audience: "audiences/a.csv", Where: "consent.email == true"},
		{ID: "tx-email", Purpose: "transactional", Channel: "email", Audience: "audiences/a.csv"},
		{ID: "tx-sms", Purpose: "transactional", Channel: "sms", Audience: "audiences/a.csv"},
	}
	if err := writeRepo(dir, camps, map[string]int{"audiences/a.csv": 50}); err != nil {
		t.Fatal(err)
	}
	for _, c := range camps {
		t.Run(c.ID, func(t *testing.T) {
			sp, err := campaign.Load(filepath.Join(dir, "campaigns", c.ID+".yaml"))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if sp.ID != c.ID || sp.Purpose != c.Purpose || sp.Audience.Where != c.Where {
				t.Errorf("loaded %s purpose %s where %q", sp.ID, sp.Purpose, sp.Audience.Where)
			}
		})
	}
}

// TestReportMarkdown checks that every result and machine fact reaches
// the file, with FAIL marked.
func TestReportMarkdown(t *testing.T) {
	rep := &Report{
		Machine: Machine{Commit: "abc123", GoVersion: "go1.26", CPU: "Test CPU", Cores: 2, MaxProcs: 2, Memory: "4 GiB"},
		Started: time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC), Args: "relais-bench -scale 0.1", Scale: 0.1, Runs: 3,
		Sections: []Section{{Name: "email", Title: "Email", What: "what", Details: []string{"detail one"}, Results: []Result{
			check("email", "emails/s", 1234, "msgs/s", "≥ 2,500", 5000, "bare", func(v, _ float64) bool { return v >= 2500 }),
			notMeasured("email", "other", "≥ 1", "missing service"),
		}}},
	}
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"abc123", "Test CPU", "2027-03-20", "| email | emails/s | 1,234 | msgs/s | ≥ 2,500 | 5,000 (bare) | 0.25 | **FAIL** |",
		"not measured", "missing service", "detail one", "Scaled run", "How to reproduce"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestPixelPersists runs the pixel path briefly on a real SQLite store:
// every event the batcher recorded is in the store, each on a real ledger
// row.
func TestPixelPersists(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, "sqlite:"+filepath.Join(t.TempDir(), "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, ok := st.(store.EventStore)
	if !ok {
		t.Skip("store does not implement store.EventStore yet")
	}
	signer, err := tracking.SignerFromSecrets(benchSecret)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := pixelTokens(ctx, st, signer, 20)
	if err != nil {
		t.Fatal(err)
	}
	b := tracking.NewBatcher(eventSink{es}, 0, 0)
	n, err := loadTest(ctx, tracking.NewHandler(tracking.Deps{Signer: signer, Events: b}), 4, 300*time.Millisecond,
		func(i int) string { return "/o/" + tokens[i%len(tokens)] + ".gif" })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	stored, err := countEvents(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || uint64(stored) != b.Recorded() || b.Dropped() != 0 {
		t.Errorf("%d requests, %d recorded, %d dropped, %d stored", n, b.Recorded(), b.Dropped(), stored)
	}
	evs, err := es.ListEvents(ctx, store.EventFilter{Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].CampaignID != "bench-pixel" || evs[0].Machine {
		t.Errorf("first event %+v, err %v: not filled from its ledger row or flagged machine", evs, err)
	}
	// A bare handler answers through the same load generator.
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("GIF89a")) })
	if bn, err := loadTest(ctx, bare, 2, 100*time.Millisecond, func(int) string { return "/" }); err != nil || bn == 0 {
		t.Errorf("bare load: %d requests, %v", bn, err)
	}
}
