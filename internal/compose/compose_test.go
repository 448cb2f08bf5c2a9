package compose_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	printch "github.com/relais-dev/relais/internal/channel/builtin/print"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

// load writes a campaign repository of files and loads campaign id.
func load(t testing.TB, id string, files map[string]string) *campaign.Spec {
	t.Helper()
	root := t.TempDir()
	for p, s := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := campaign.Load(filepath.Join(root, "campaigns", id+".yaml"))
	if err != nil {
		t.Fatalf("campaign.Load: %v", err)
	}
	return sp
}

func TestCompose(t *testing.T) {
	sp := load(t, "multi", map[string]string{
		"campaigns/multi.yaml": `id: multi
channels: [email, sms, print]
sender:
  email: "Maison Dupont <news@dupont.example>"
  sms: "+33700000001"
  postal: { name: Maison Dupont, lines: ["12 rue des Lilas", "69003 LYON"] }
steps:
  - id: s1
    email: { subject: "Bonjour {{.Contact.FirstName}}", html: templates/hello.html }
    sms: { text: templates/hello.txt }
    print: { letter: templates/lettre.md }
`,
		"templates/hello.html": `<p>Bonjour {{.Contact.FirstName}}</p><a href="{{.Links.Unsubscribe}}">désabonnement</a>`,
		"templates/hello.txt":  "  Bonjour {{.Contact.FirstName}}. STOP au 36180  \n",
		"templates/lettre.md":  "Bonjour {{.Contact.FirstName}}.\n",
	})
	c := &contact.Contact{FirstName: "Camille", LastName: "Durand", Email: "camille@example.org", Phone: "+33612345678"}
	in := compose.Input{Spec: sp, Step: &sp.Steps[0], LedgerID: "l1", Contact: c, Now: time.Now(),
		Links: compose.Links{Unsubscribe: "https://relais.example/u/x", ResponseURL: "https://relais.example/r/x",
			Headers: map[string]string{"List-Unsubscribe": "<https://relais.example/u/x>"}},
		Response: "ABCD"}
	comp := compose.NewComposer()

	in.Channel = emailch.Name
	m, err := comp.Compose(in)
	if err != nil {
		t.Fatalf("email: %v", err)
	}
	if m.Subject != "Bonjour Camille" || m.To != c.Email || m.ToName != "Camille Durand" ||
		!strings.Contains(m.HTML, "https://relais.example/u/x") || !strings.Contains(m.Text, "Bonjour Camille") ||
		m.Headers["List-Unsubscribe"] == "" || m.LedgerID != "l1" || m.Campaign != "multi" || m.Step != "s1" {
		t.Errorf("email message = %+v", m)
	}

	in.Channel = smsch.SMS
	if m, err = comp.Compose(in); err != nil {
		t.Fatalf("sms: %v", err)
	}
	if m.Text != "Bonjour Camille. STOP au 36180" || m.To != c.Phone || m.From != "+33700000001" {
		t.Errorf("sms message: text %q to %q from %q", m.Text, m.To, m.From)
	}

	// Without a reply coupon a letter carries no response code or URL.
	in.Channel = printch.Name
	if m, err = comp.Compose(in); err != nil {
		t.Fatalf("print: %v", err)
	}
	if m.ResponseCode != "" || m.ResponseURL != "" || len(m.SenderPostal) != 3 || !strings.Contains(m.Text, "Bonjour Camille") {
		t.Errorf("print message: code %q url %q sender %v text %q", m.ResponseCode, m.ResponseURL, m.SenderPostal, m.Text)
	}

	in.Channel = smsch.MMS
	if _, err := comp.Compose(in); err == nil {
		t.Error("mms without mms content composed")
	}
	in.Channel = "fax"
	if _, err := comp.Compose(in); err == nil {
		t.Error("unknown channel composed")
	}
}

// TestCampaignLinkHosts checks a campaign's link_hosts join the hosts
// written in its templates: click tracking then signs a URL on such a
// host that came from data, and still no other URL from data.
func TestCampaignLinkHosts(t *testing.T) {
	sp := load(t, "order", map[string]string{
		"campaigns/order.yaml": `id: order
purpose: transactional
channels: [email]
sender: { email: "Maison Dupont <shop@dupont.example>" }
link_hosts: [Orders.Dupont.example]
steps:
  - id: confirm
    email: { subject: "Commande", html: templates/order.html }
`,
		"templates/order.html": `<p><a href="https://dupont.example/aide">Aide</a> <a href="{{.Data.order}}">Commande</a> <a href="{{.Data.other}}">x</a></p>`,
	})
	if got := strings.Join(sp.LinkHosts, ","); got != "orders.dupont.example" {
		t.Fatalf("Spec.LinkHosts = %q, want orders.dupont.example (lower case)", got)
	}
	in := compose.Input{Spec: sp, Step: &sp.Steps[0], Channel: emailch.Name, LedgerID: "l1", Now: time.Now(),
		Contact: &contact.Contact{Email: "camille@example.org"},
		Data:    map[string]any{"order": "https://orders.dupont.example/o/42", "other": "https://evil.example/phish"}}
	m, err := compose.NewComposer().Compose(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.LinkHosts, ","); got != "dupont.example,orders.dupont.example" {
		t.Fatalf("message LinkHosts = %q, want the template's host and the campaign's", got)
	}
	signer, err := tracking.SignerFromSecrets("a-secret-of-at-least-16-bytes")
	if err != nil {
		t.Fatal(err)
	}
	links, err := tracking.NewLinks(signer, "https://t.dupont.example/")
	if err != nil {
		t.Fatal(err)
	}
	links.Decorate(m, &store.LedgerRow{ID: "l1", RunID: 1, ContactID: 2, CampaignID: "order", StepID: "confirm", Channel: "email", Purpose: "transactional"}, false)
	if n := strings.Count(m.HTML, `href="https://t.dupont.example/c/`); n != 2 {
		t.Errorf("%d signed click links, want 2 (the template's and the order page):\n%s", n, m.HTML)
	}
	if strings.Contains(m.HTML, `href="https://evil.example`) || strings.Contains(m.HTML, `href="https://orders.dupont.example`) {
		t.Errorf("a URL from data left as a raw link:\n%s", m.HTML)
	}
}
