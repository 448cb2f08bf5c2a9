package twiliohook_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/twiliohook"
)

// TestRemoteMediaReachesTwilioUntouched sends an MMS whose media are a
// campaign file and a remote https URL through the worker's Composer (with
// MediaURL as relais wires it) and the mms sender to the Twilio double:
// the file becomes a signed relais URL, the remote URL is posted as
// MediaUrl exactly as written in the campaign.
func TestRemoteMediaReachesTwilioUntouched(t *testing.T) {
	const remote = "https://cdn.example/soldes/visuel.jpg?w=640&h=480&sig=a%2Fb"
	const public = "https://relais.example"
	root := t.TempDir()
	files := map[string]string{
		"campaigns/soldes.yaml": `id: soldes
channels: [mms]
sender: {sms: "+33700000001"}
steps:
  - id: photo
    mms:
      text: templates/soldes/mms.txt
      media: [templates/soldes/vitrine.png, "` + remote + `"]
`,
		"templates/soldes/mms.txt":     "Bonjour {{.Contact.FirstName}}, les soldes commencent ! STOP au 36180",
		"templates/soldes/vitrine.png": string(pngHeader),
	}
	for p, s := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := campaign.Load(filepath.Join(root, "campaigns", "soldes.yaml"))
	if err != nil {
		t.Fatalf("campaign.Load: %v", err)
	}
	comp := compose.NewComposer()
	comp.MediaURL = func(sp *campaign.Spec, ref string) (string, error) {
		return twiliohook.MediaURL(secret, public, sp, ref)
	}
	msg, err := comp.Compose(compose.Input{Spec: sp, Step: &sp.Steps[0], Channel: smsch.MMS, LedgerID: "0123456789abcdef0123456789abcdef",
		Contact: &contact.Contact{FirstName: "Camille", Phone: "+33612345678"}, Now: time.Now()})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	signed, err := twiliohook.MediaURL(secret, public, sp, "templates/soldes/vitrine.png")
	if err != nil {
		t.Fatalf("MediaURL: %v", err)
	}

	double := testenv.StartTwilio(t)
	// cdn.example and relais.example resolve to a public address here, so
	// the sender's SSRF check runs without the network.
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "cdn.example" && host != "relais.example" {
			t.Errorf("unexpected lookup of %s", host)
		}
		return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
	}
	snd, err := twilio.New(twilio.Config{Name: smsch.MMS, AccountSID: double.AccountSID, AuthToken: double.AuthToken,
		APIBaseURL: double.URL}, twilio.WithLookup(lookup))
	if err != nil {
		t.Fatalf("twilio.New: %v", err)
	}
	t.Cleanup(func() { snd.Close() })
	if _, err := snd.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	reqs := double.Requests()
	if len(reqs) != 1 {
		t.Fatalf("double got %d requests, want 1", len(reqs))
	}
	tests := []struct {
		name      string
		got, want []string
	}{
		{name: "MediaUrl", got: reqs[0].Form["MediaUrl"], want: []string{signed, remote}},
		{name: "To", got: reqs[0].Form["To"], want: []string{"+33612345678"}},
		{name: "Body", got: reqs[0].Form["Body"], want: []string{"Bonjour Camille, les soldes commencent ! STOP au 36180"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if !strings.HasPrefix(signed, public+twiliohook.MediaPath) {
		t.Errorf("campaign file media URL %s is not served by relais", signed)
	}
}
