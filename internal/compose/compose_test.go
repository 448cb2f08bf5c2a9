package compose_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
)

// load writes a campaign repository of files and loads campaign id.
func load(t *testing.T, id string, files map[string]string) *campaign.Spec {
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

	in.Channel = channel.Email
	m, err := comp.Compose(in)
	if err != nil {
		t.Fatalf("email: %v", err)
	}
	if m.Subject != "Bonjour Camille" || m.To != c.Email || m.ToName != "Camille Durand" ||
		!strings.Contains(m.HTML, "https://relais.example/u/x") || !strings.Contains(m.Text, "Bonjour Camille") ||
		m.Headers["List-Unsubscribe"] == "" || m.LedgerID != "l1" || m.Campaign != "multi" || m.Step != "s1" {
		t.Errorf("email message = %+v", m)
	}

	in.Channel = channel.SMS
	if m, err = comp.Compose(in); err != nil {
		t.Fatalf("sms: %v", err)
	}
	if m.Text != "Bonjour Camille. STOP au 36180" || m.To != c.Phone || m.From != "+33700000001" {
		t.Errorf("sms message: text %q to %q from %q", m.Text, m.To, m.From)
	}

	// Without a reply coupon a letter carries no response code or URL.
	in.Channel = channel.Print
	if m, err = comp.Compose(in); err != nil {
		t.Fatalf("print: %v", err)
	}
	if m.ResponseCode != "" || m.ResponseURL != "" || len(m.SenderPostal) != 3 || !strings.Contains(m.Text, "Bonjour Camille") {
		t.Errorf("print message: code %q url %q sender %v text %q", m.ResponseCode, m.ResponseURL, m.SenderPostal, m.Text)
	}

	in.Channel = channel.MMS
	if _, err := comp.Compose(in); err == nil {
		t.Error("mms without mms content composed")
	}
	in.Channel = "fax"
	if _, err := comp.Compose(in); err == nil {
		t.Error("unknown channel composed")
	}
}

func TestAddressInvalid(t *testing.T) {
	ok := &contact.Contact{FirstName: "Camille", LastName: "Durand",
		Address: contact.Address{Line1: "12 rue Mercière", Postcode: "69002", City: "Lyon"}}
	long := *ok
	long.Address.Line1 = strings.Repeat("x", 45) + " chemin des Grandes Vignes"
	tests := []struct {
		name    string
		channel string
		c       *contact.Contact
		want    bool
	}{
		{name: "printable", channel: channel.Print, c: ok},
		{name: "too long for NF Z10-011", channel: channel.Print, c: &long, want: true},
		{name: "no postal address is the policy's to refuse", channel: channel.Print, c: &contact.Contact{LastName: "Durand"}},
		{name: "other channels are not checked", channel: channel.Email, c: &long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compose.AddressInvalid(tt.channel, tt.c); got != tt.want {
				t.Fatalf("AddressInvalid = %v, want %v", got, tt.want)
			}
		})
	}
}
