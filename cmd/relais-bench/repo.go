package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/testenv"
)

// A campaign repository as users keep it: campaigns/, templates/ and an
// audience file, written fresh for each benchmark.

// smsText is a one-segment transactional SMS (no STOP mention needed).
const smsText = `Maison Dupont : bonjour {{.Contact.FirstName}}, votre commande est prete en boutique.`

// campaignDef is one campaign file of a benchmark repository.
type campaignDef struct {
	ID       string
	Purpose  string // marketing | transactional
	Channel  string // email | sms
	Audience string // audience file, relative to the repo
	Where    string // optional expression
}

func (c campaignDef) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nname: Benchmark %s\npurpose: %s\n", c.ID, c.ID, c.Purpose)
	if c.Purpose == "transactional" {
		// A bulk transactional send over a file audience must say why:
		// here it measures the cheapest policy path.
		b.WriteString("transactional_reason: \"benchmark of the transactional send path\"\n")
	}
	fmt.Fprintf(&b, "audience:\n  source: file\n  file: %s\n", c.Audience)
	if c.Where != "" {
		fmt.Fprintf(&b, "  where: '%s'\n", c.Where)
	}
	fmt.Fprintf(&b, "channels: [%s]\nsender:\n", c.Channel)
	switch c.Channel {
	case "email":
		b.WriteString("  email: \"Maison Dupont <news@dupont.example>\"\nsteps:\n  - id: annonce\n    email:\n")
		b.WriteString("      subject: \"{{.Contact.FirstName}}, le printemps arrive chez Maison Dupont\"\n")
		b.WriteString("      html: templates/bench/email.html\n      text: templates/bench/email.txt\n")
	case "sms":
		b.WriteString("  sms: DUPONT\nsteps:\n  - id: annonce\n    sms: { text: templates/bench/sms.txt }\n")
	}
	return b.String()
}

// writeRepo writes a campaign repository under dir: the templates, the
// campaigns, and audience files of the given sizes (name → rows, made by
// audience.GenerateCSV).
func writeRepo(dir string, camps []campaignDef, audiences map[string]int) error {
	files := map[string]string{
		"templates/bench/email.html": testenv.NewsletterHTML,
		"templates/bench/email.txt":  testenv.NewsletterText,
		"templates/bench/sms.txt":    smsText,
	}
	for _, c := range camps {
		files["campaigns/"+c.ID+".yaml"] = c.yaml()
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	for name, n := range audiences {
		if err := writeAudience(filepath.Join(dir, name), n); err != nil {
			return err
		}
	}
	return nil
}

// writeAudience writes n generated contacts to path.
func writeAudience(path string, n int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := audience.GenerateCSV(f, n); err != nil {
		f.Close()
		return fmt.Errorf("generate %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}
