package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/simulate"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	name := filepath.Base(path)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// simulateProject copies the simulation fixture (a two-step campaign:
// an email, then an SMS 3 days later to those who did not open it) into a
// temp dir made the working directory.
func simulateProject(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "..", "internal", "simulate", "testdata"), dir)
	t.Chdir(dir)
}

// The announcement goes on Wednesday 28 April 2027; C001 opens it, C008
// opts out. The follow-up falls due on Saturday 1 May (Labour Day, a
// public holiday), is skipped for C001, stopped for C008, refused where
// policy says so and, for the one recipient left, deferred out of the
// holiday and the Sunday to Monday 3 May 08:00.
func TestSimulateFollowUpQuietHoursHoliday(t *testing.T) {
	goldenPath, err := filepath.Abs(filepath.Join("testdata", "simulate-relance.txt"))
	if err != nil {
		t.Fatal(err)
	}
	simulateProject(t)
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	args := []string{"simulate", "campaigns/relance.yaml", "--from", "2027-04-28T10:00:00+02:00", "--days", "7", "--events", "scenario.yaml"}
	r := c.mustRun(ctx, args...)
	golden(t, goldenPath, r.stdout)

	r = c.mustRun(ctx, append(args, "--json")...)
	var res simulate.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	sent := map[string][]time.Time{} // recipient → relance send times
	for _, tl := range res.Timelines {
		for _, e := range tl.Entries {
			if e.Step == "relance" && e.Action == simulate.ActionSent {
				sent[tl.Recipient] = append(sent[tl.Recipient], e.At)
			}
		}
	}
	want := time.Date(2027, time.May, 3, 8, 0, 0, 0, paris)
	if len(sent) != 1 || len(sent["C007"]) != 1 || !sent["C007"][0].Equal(want) {
		t.Errorf("follow-up sends %v, want only C007 at %s", sent, want)
	}
	st := res.Steps[1]
	if st.Sent != 1 || st.Skipped != 1 || st.Stopped != 1 || st.Deferred != 1 || st.Refused["opted_out"] != 1 || st.Refused["invalid_address"] != 1 {
		t.Errorf("relance totals %+v", st)
	}
	if res.Steps[0].Sent != 5 {
		t.Errorf("annonce sent %d, want 5", res.Steps[0].Sent)
	}
}

// A daily schedule over a week with 14 July: one run per firing, the
// holiday's SMS deferred to the next open day.
func TestSimulateScheduleBastilleDay(t *testing.T) {
	simulateProject(t)
	b, err := os.ReadFile("campaigns/relance.yaml")
	if err != nil {
		t.Fatal(err)
	}
	daily := strings.Replace(string(b), "steps:", "schedule: { cron: \"0 10 * * *\", timezone: Europe/Paris }\nlimits: { frequency_cap: 10/7d }\nsteps:", 1)
	daily = strings.Replace(daily, "    after: 3d\n    when: 'not opened(\"annonce\")'\n", "    after: 1h\n", 1)
	if err := os.WriteFile("campaigns/relance.yaml", []byte(daily), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, env: map[string]string{}}
	r := c.mustRun(context.Background(), "simulate", "campaigns/relance.yaml", "--from", "2027-07-13", "--days", "2", "--json")
	var res simulate.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 {
		t.Fatalf("runs %v, want 13 and 14 July at 10:00", res.Runs)
	}
	var days []string
	for _, d := range res.Days {
		days = append(days, d.Day+":"+itoaMap(d.Sent))
	}
	// 13 July: 5 emails, 3 SMS at 11:00 (C002 refused SMS, C003's number
	// is invalid). 14 July: 5 emails; the 3 SMS are deferred to 15 July
	// 08:00, after the simulated period.
	if got := strings.Join(days, " "); got != "2027-07-13:annonce=5,relance=3 2027-07-14:annonce=5" {
		t.Errorf("per day %s", got)
	}
	if res.Steps[1].Deferred != 3 {
		t.Errorf("relance deferred %d, want 3", res.Steps[1].Deferred)
	}
}

func itoaMap(m map[string]int) string {
	var parts []string
	for _, k := range []string{"annonce", "relance"} {
		if n, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		}
	}
	return strings.Join(parts, ",")
}
