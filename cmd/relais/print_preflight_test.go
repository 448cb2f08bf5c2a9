package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/postal"
)

// TestPrintPreflightSettlesRows: a letter is accepted only once its batch
// passed the preflight; the letters of a rejected batch are failed with
// the preflight's finding as their reason, shown by status and the report.
func TestPrintPreflightSettlesRows(t *testing.T) {
	type statusOut struct {
		Run struct {
			State string `json:"state"`
		} `json:"run"`
		Counts   map[string]int `json:"counts"`
		FailedBy map[string]int `json:"failed_by"`
	}
	type reportOut struct {
		Total struct {
			Sent     int            `json:"sent"`
			Failed   int            `json:"failed"`
			Pending  int            `json:"pending"`
			FailedBy map[string]int `json:"failed_by"`
		} `json:"total"`
	}
	check := func(t *testing.T) (statusOut, reportOut) {
		t.Helper()
		c := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "error"}}
		ctx := context.Background()
		c.mustRun(ctx, "run", "campaigns/courrier.yaml", "--wait")
		var st statusOut
		if err := json.Unmarshal([]byte(c.mustRun(ctx, "status", "1", "--json").stdout), &st); err != nil {
			t.Fatal(err)
		}
		var rep reportOut
		if err := json.Unmarshal([]byte(c.mustRun(ctx, "report", "courrier", "--json").stdout), &rep); err != nil {
			t.Fatal(err)
		}
		return st, rep
	}

	t.Run("batch passes", func(t *testing.T) {
		localPrintProject(t)
		st, rep := check(t)
		if st.Counts["accepted"] != 2 || st.Counts["spooled"] != 0 || st.Counts["failed"] != 0 || len(st.FailedBy) != 0 || st.Run.State != "done" {
			t.Errorf("status: %+v", st)
		}
		if rep.Total.Sent != 2 || rep.Total.Failed != 0 || rep.Total.Pending != 0 {
			t.Errorf("report: %+v", rep.Total)
		}
	})

	t.Run("batch rejected", func(t *testing.T) {
		localPrintProject(t)
		// The print shop's envelope has its window elsewhere: every
		// address falls outside it.
		batcherOptions = []print.Option{print.WithPreflightWindow(postal.Rect{X: 20, Y: 200, W: 90, H: 40})}
		t.Cleanup(func() { batcherOptions = nil })
		st, rep := check(t)
		if st.Counts["accepted"] != 0 || st.Counts["spooled"] != 0 || st.Counts["failed"] != 2 || st.Run.State != "done" {
			t.Errorf("status counts: %+v", st)
		}
		if len(st.FailedBy) != 1 {
			t.Fatalf("status failed_by: %v", st.FailedBy)
		}
		for reason, n := range st.FailedBy {
			if n != 2 || !strings.HasPrefix(reason, "print_preflight: batch 1-001: preflight: ") || !strings.Contains(reason, "outside the window") {
				t.Errorf("status failed_by: %v", st.FailedBy)
			}
			if rep.Total.FailedBy[reason] != 2 {
				t.Errorf("report failed_by %v, want %q: 2", rep.Total.FailedBy, reason)
			}
		}
		if rep.Total.Sent != 0 || rep.Total.Failed != 2 {
			t.Errorf("report: %+v", rep.Total)
		}
		// The text status names the reason too.
		c := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "error"}}
		if out := c.mustRun(context.Background(), "status", "1").stdout; !strings.Contains(out, "failed, by reason:\n  2  print_preflight: batch 1-001") {
			t.Errorf("status:\n%s", out)
		}
	})
}
