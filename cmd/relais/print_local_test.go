package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintLocalRecipient: a recipient in the sender's postcode and town
// (both blocks end with "69003 LYON") gets a letter in a batch that passes
// preflight, and a "Pays: France" row is read as FR: no country line.
func TestPrintLocalRecipient(t *testing.T) {
	localPrintProject(t)
	c := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "warn"}}
	r := c.mustRun(context.Background(), "run", "campaigns/courrier.yaml", "--wait", "--json")
	var out struct {
		Counts  map[string]int `json:"counts"`
		Batches []struct {
			PDF, Manifest, Reason string
			Letters               int
			Rejected              bool
		} `json:"print_batches"`
	}
	if err := json.Unmarshal([]byte(lastLine(r.stdout)), &out); err != nil {
		t.Fatalf("run --json: %v\n%s", err, r.stdout)
	}
	if len(out.Batches) != 1 || out.Batches[0].Rejected || out.Batches[0].Letters != 2 {
		t.Fatalf("batches %+v, want one that passed preflight with 2 letters", out.Batches)
	}
	if out.Counts["accepted"] != 2 {
		t.Errorf("ledger %v", out.Counts)
	}
	// The stored contacts carry the ISO code, which postal formatting
	// keys on: FR letters have no country line (internal/postal).
	for _, ref := range []string{"P1", "P2"} {
		exp := c.mustRun(context.Background(), "contacts", "export", ref).stdout
		if !strings.Contains(exp, `"country": "FR"`) && !strings.Contains(exp, `"country":"FR"`) {
			t.Errorf("%s: country not normalized to FR:\n%s", ref, exp)
		}
	}
}

// localPrintProject writes a print campaign whose two recipients live in
// the sender's postcode and town, one with "Pays: France", one with
// "Pays: FRANCE".
func localPrintProject(t *testing.T) {
	t.Helper()
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
name: Courrier de quartier
purpose: marketing
audience:
  source: file
  file: samples/postal.csv
  mapping: samples/postal-mapping.yaml
channels: [print]
sender:
  postal: { name: Maison Dupont, lines: ["12 rue des Lilas", "69003 LYON"] }
steps:
  - id: lettre
    print: { letter: templates/lettre.md, subject: "Bienvenue dans le quartier" }
`)
	write("templates/lettre.md", "Bonjour {{.Contact.FirstName}}, nous sommes voisins.\n")
	write("samples/postal-mapping.yaml", "Pays: country\n")
	write("samples/postal.csv", "external_id;first_name;last_name;address_line1;postcode;city;kind;Pays\n"+
		"P1;Camille;Durand;3 rue Paul Bert;69003;Lyon;person;France\n"+
		"P2;Julien;Moreau;8 cours Gambetta;69003;LYON;person;FRANCE\n")
}
