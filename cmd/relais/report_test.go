package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// TestReportCommand sends the example campaign in embedded mode, records
// an open, a click and a conversion on its ledger rows, and reads them
// back through `relais report` in its three formats.
func TestReportCommand(t *testing.T) {
	dir := project(t)
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait")

	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "var", "relais.db"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.ListLedger(ctx, store.LedgerFilter{States: []store.State{store.Accepted}})
	if err != nil || len(rows) < 2 {
		t.Fatalf("accepted rows: %d, %v", len(rows), err)
	}
	if _, err := s.RecordEvents(ctx, []store.Event{
		{LedgerID: rows[0].ID, Type: store.EventOpened},
		{LedgerID: rows[0].ID, Type: store.EventClicked, URL: "https://dupont.example/"},
		{LedgerID: rows[1].ID, Type: store.EventOpened, Machine: true},
		{LedgerID: rows[0].ID, Type: store.EventConverted, Value: 12.5, Currency: "EUR"},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"json from the file", []string{"report", "campaigns/printemps-2027.yaml", "--json"}, func(t *testing.T, out string) {
			var r report.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("report --json: %v\n%s", err, out)
			}
			m := r.Total
			// 7 recipients: 5 accepted, 1 without consent, 1 opted out;
			// cost 5 × 0.001 €; ROI (12.5 − 0.005) / 0.005.
			if m.Targeted != 7 || m.Sent != 5 || m.Refused != 2 || m.Opens != 1 || m.MachineOpens != 1 ||
				m.Clicks != 1 || m.Conversions != 1 || m.Responses != 1 || m.ConversionValue != 12.5 ||
				m.Cost != 0.005 || m.ROI == nil || *m.ROI != 2499 || r.Currency != "EUR" {
				t.Errorf("report total %+v", m)
			}
		}},
		{"csv by campaign id", []string{"report", "printemps-2027", "--csv"}, func(t *testing.T, out string) {
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			total := map[string]string{}
			for i, h := range recs[0] {
				total[h] = recs[len(recs)-1][i]
			}
			if total["sent"] != "5" || total["cost"] != "0.005" || total["roi"] != "2499" {
				t.Errorf("csv total %v", total)
			}
		}},
		{"table", []string{"report", "printemps-2027"}, func(t *testing.T, out string) {
			for _, want := range []string{"campaign printemps-2027", "2499", "no_consent:1"} {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, c.mustRun(ctx, tc.args...).stdout)
		})
	}
	t.Run("csv and json together", func(t *testing.T) {
		if r := c.run(ctx, "report", "printemps-2027", "--csv", "--json"); r.code != exitUser {
			t.Errorf("exit %d, want %d", r.code, exitUser)
		}
	})
}
