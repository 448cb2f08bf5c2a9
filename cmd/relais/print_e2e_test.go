package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintRunRefusesUnprintableAddress sends a postal mailing in embedded
// mode: an address that cannot meet NF Z10-011 (a 61-character street) is
// refused as invalid_address, shown by plan, and never printed; the others
// end in a batch PDF with its manifest.
func TestPrintRunRefusesUnprintableAddress(t *testing.T) {
	dir := project(t)
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("campaigns/courrier.yaml", `id: courrier
name: Courrier de printemps
purpose: marketing
audience:
  source: file
  file: samples/postal.csv
channels: [print]
sender:
  postal: { name: Maison Dupont, lines: ["12 rue des Lilas", "69003 LYON"] }
steps:
  - id: lettre
    print: { letter: templates/lettre.md, subject: "Le printemps arrive", reply_coupon: true }
cost: { currency: EUR, print: 0.70 }
`)
	write("templates/lettre.md", "Nous avons le plaisir de vous présenter notre collection de printemps, {{.Contact.FirstName}}.\n\nP.S. Votre code : {{.Response.Code}}\n")
	write("samples/postal.csv", "external_id;title;first_name;last_name;address_line1;postcode;city;kind\n"+
		"P1;Mme;Camille;Durand;12 rue Mercière;69002;Lyon;person\n"+
		"P2;M.;Julien;Moreau;5 place Bellecour;69002;Lyon;person\n"+
		"P3;Mme;Léa;Lefèvre;"+strings.Repeat("x", 45)+" chemin des Grandes Vignes;69006;Lyon;person\n")
	c := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "warn"}}
	ctx := context.Background()
	var plan struct {
		Planned  int            `json:"planned"`
		ByReason map[string]int `json:"by_reason"`
	}
	r := c.mustRun(ctx, "plan", "campaigns/courrier.yaml", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, r.stdout)
	}
	if plan.Planned != 2 || plan.ByReason["invalid_address"] != 1 {
		t.Fatalf("plan: %d to send, refusals %v; want 2 and one invalid_address", plan.Planned, plan.ByReason)
	}
	r = c.mustRun(ctx, "run", "campaigns/courrier.yaml", "--wait", "--json")
	var out struct {
		Counts  map[string]int `json:"counts"`
		Batches []struct {
			PDF, Manifest string
			Letters       int
			Rejected      bool
		} `json:"print_batches"`
	}
	if err := json.Unmarshal([]byte(lastLine(r.stdout)), &out); err != nil {
		t.Fatalf("run --json: %v\n%s", err, r.stdout)
	}
	if out.Counts["accepted"] != 2 || out.Counts["refused:invalid_address"] != 1 {
		t.Fatalf("ledger %v", out.Counts)
	}
	if len(out.Batches) != 1 || out.Batches[0].Letters != 2 || out.Batches[0].Rejected {
		t.Fatalf("batches %+v", out.Batches)
	}
	manifest, err := os.ReadFile(out.Batches[0].Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(manifest), "\n") != 3 || strings.Contains(string(manifest), "P3") {
		t.Errorf("manifest:\n%s", manifest)
	}
	if fi, err := os.Stat(out.Batches[0].PDF); err != nil || fi.Size() == 0 {
		t.Fatalf("batch PDF: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
