package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/relais-dev/relais/internal/audience"
)

// A campaign repository as users keep it: campaigns/, templates/ and an
// audience file, written fresh for each benchmark.

// emailHTML is a newsletter of about 3 KB of HTML; with the text part and
// headers the message is about 5 KB, like the reference newsletter's (~4.7 KB).
var emailHTML = `<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>Le printemps arrive</title></head>
<body style="font-family: Georgia, serif; color: #2b2b2b; max-width: 600px; margin: auto">
  <h1 style="color: #5a7d2b">Le printemps arrive chez Maison Dupont</h1>
  <p>Bonjour {{.Contact.FirstName}},</p>
  <p>Vous faites partie de nos clients fidèles{{if .Contact.Address.City}} à {{.Contact.Address.City}}{{end}} :
     pour vous remercier de vos {{.Contact.Attrs.orders_12m}} commandes cette année, nous vous réservons
     <strong>15 % de remise</strong> sur la nouvelle collection.</p>
` + strings.Repeat(`  <table role="presentation" style="width: 100%; border-collapse: collapse; margin: 12px 0">
    <tr><td style="padding: 8px; border: 1px solid #e0e0e0">
      <h2 style="font-size: 18px; color: #5a7d2b">Une collection pensée pour vous</h2>
      <p style="font-size: 14px; line-height: 1.5">Des matières naturelles, des couleurs tendres et des coupes
      qui vous accompagnent toute la saison : découvrez nos nouveautés en boutique et en ligne.</p>
      <p><a href="https://dupont.example/printemps" style="color: #5a7d2b">Découvrir la collection</a></p>
    </td></tr>
  </table>
`, 4) + `  <p>À très bientôt,<br>Claire Dupont<br><em>Maison Dupont, Lyon</em></p>
  <hr>
  <p style="font-size: 12px; color: #777">Vous recevez ce message car vous êtes client de Maison Dupont.
     <a href="{{.Links.Unsubscribe}}">Se désinscrire</a></p>
</body>
</html>
`

var emailText = `Bonjour {{.Contact.FirstName}},

Vous faites partie de nos clients fidèles{{if .Contact.Address.City}} à {{.Contact.Address.City}}{{end}} :
pour vous remercier de vos {{.Contact.Attrs.orders_12m}} commandes cette année, nous vous réservons
15 % de remise sur la nouvelle collection.
` + strings.Repeat(`
Une collection pensée pour vous : des matières naturelles, des couleurs tendres et des coupes
qui vous accompagnent toute la saison. https://dupont.example/printemps
`, 4) + `
À très bientôt,
Claire Dupont
Maison Dupont, Lyon

--
Vous recevez ce message car vous êtes client de Maison Dupont.
Se désinscrire : {{.Links.Unsubscribe}}
`

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
		"templates/bench/email.html": emailHTML,
		"templates/bench/email.txt":  emailText,
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
