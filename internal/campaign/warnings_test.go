package campaign

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel/builtin/sms"
)

// writeRepo writes files (path relative to a temp repository root →
// content) and returns the root.
func writeRepo(t *testing.T, files map[string]string) string {
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
	return root
}

// longNote is 200 UTF-16 units with an emoji; with the rest of the text
// (28 units) the SMS is 228 units, 4 UCS-2 segments (3 hold at most 201).
var longNote = strings.Repeat("Soldes 🌸 ", 20)

// segmentAudience has three prospects; the third one's note makes the
// SMS long and UCS-2.
var segmentAudience = "external_id;first_name;phone;kind;consent_sms;ville;note\n" +
	"P1;Camille;0612345678;person;oui;Lyon;à bientôt\n" +
	"P2;Julien;0623456789;person;oui;Lyon;merci\n" +
	"P3;Léa;0711223344;person;oui;Paris;" + longNote + "\n"

const segmentCampaign = `id: soldes
channels: [sms]
audience: {source: file, file: audiences/prospects.csv, where: 'WHERE'}
sender: {sms: MaisonDupont}
LIMITS
steps:
  - id: relance
    sms:
      text: templates/relance.txt
`

func TestValidateWithWarningsSegments(t *testing.T) {
	const tpl = "Bonjour {{.Contact.FirstName}}, {{.Contact.Attrs.note}}. STOP au 36180"
	tests := []struct {
		name     string
		where    string
		limits   string
		campaign string // replaces segmentCampaign when set
		want     []string
	}{
		{name: "over the default of 3", where: "true",
			want: []string{"campaigns/soldes.yaml:9:13: warning: step relance: sms renders to 4 segments (UCS-2) for sample recipient 3, over 3"}},
		{name: "limit raised to 4", where: "true", limits: "limits: {sms_segments: 4}"},
		{name: "limit lowered to 1 reports the worst recipient", where: "true", limits: "limits: {sms_segments: 1}",
			want: []string{"campaigns/soldes.yaml:9:13: warning: step relance: sms renders to 4 segments (UCS-2) for sample recipient 3, over 1"}},
		{name: "where leaves the long text out", where: `attrs.ville == "Lyon"`},
		{name: "where keeps only the long one, first in the sample", where: `attrs.ville == "Paris"`,
			want: []string{"campaigns/soldes.yaml:9:13: warning: step relance: sms renders to 4 segments (UCS-2) for sample recipient 1, over 3"}},
		{name: "mms text counted too", campaign: `id: soldes
channels: [mms]
audience: {source: file, file: audiences/prospects.csv}
sender: {sms: MaisonDupont}
steps:
  - id: photo
    mms: {text: templates/relance.txt, media: [https://cdn.example/visuel.jpg]}
`, want: []string{"campaigns/soldes.yaml:7:17: warning: step photo: mms renders to 4 segments (UCS-2) for sample recipient 3, over 3"}},
		{name: "contact store audience is not sampled", campaign: `id: soldes
channels: [sms]
sender: {sms: MaisonDupont}
steps:
  - id: relance
    sms: {text: templates/relance.txt}
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.campaign
			if c == "" {
				c = strings.NewReplacer("WHERE", tc.where, "LIMITS", tc.limits).Replace(segmentCampaign)
			}
			root := writeRepo(t, map[string]string{
				"campaigns/soldes.yaml":   c,
				"audiences/prospects.csv": segmentAudience,
				"templates/relance.txt":   tpl,
			})
			errs, warns := ValidateWithWarnings(filepath.Join(root, "campaigns", "soldes.yaml"))
			if len(errs) != 0 {
				t.Fatalf("unexpected errors:\n%s", Errors(errs))
			}
			var got []string
			for _, w := range warns {
				got = append(got, strings.TrimPrefix(w.String(), root+string(filepath.Separator)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if es := Validate(filepath.Join(root, "campaigns", "soldes.yaml")); len(es) != 0 {
				t.Errorf("Validate: %s", Errors(es))
			}
		})
	}
}

func TestValidateWithWarningsRenderFailure(t *testing.T) {
	// P2 has an empty note cell: a text that needs .Contact.Attrs.code,
	// absent from every row, cannot render; validate says so without
	// failing the campaign (the audience decides, not the file).
	root := writeRepo(t, map[string]string{
		"campaigns/soldes.yaml":   strings.NewReplacer("WHERE", "true", "LIMITS", "").Replace(segmentCampaign),
		"audiences/prospects.csv": segmentAudience,
		"templates/relance.txt":   "Code {{.Contact.Attrs.ville.x}} STOP au 36180",
	})
	errs, warns := ValidateWithWarnings(filepath.Join(root, "campaigns", "soldes.yaml"))
	if len(errs) != 0 {
		t.Fatalf("unexpected errors:\n%s", Errors(errs))
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "step relance: sms text does not render for sample recipient 1") || warns[0].Line != 9 {
		t.Fatalf("warnings = %v, want one render failure at line 9", warns)
	}
	for _, pii := range []string{"Camille", "0612345678", "Lyon"} {
		if strings.Contains(warns[0].Msg, pii) {
			t.Errorf("warning %q quotes recipient data %q", warns[0].Msg, pii)
		}
	}
}

func TestLimitsSMSSegments(t *testing.T) {
	tests := []struct {
		name    string
		limits  string
		want    int
		wantErr string
	}{
		{name: "default", want: DefaultSMSSegments},
		{name: "set", limits: "limits: {sms: 5/s, sms_segments: 6}", want: 6},
		{name: "zero", limits: "limits: {sms_segments: 0}", wantErr: "campaigns/soldes.yaml:5:24: limits.sms_segments must be a whole number"},
		{name: "not a number", limits: "limits: {sms_segments: trois}", wantErr: "campaigns/soldes.yaml:5:24: limits.sms_segments must be a whole number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRepo(t, map[string]string{
				"campaigns/soldes.yaml":   strings.NewReplacer("WHERE", "true", "LIMITS", tc.limits).Replace(segmentCampaign),
				"audiences/prospects.csv": segmentAudience,
				"templates/relance.txt":   "Bonjour. STOP au 36180",
			})
			sp, err := Load(filepath.Join(root, "campaigns", "soldes.yaml"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.TrimPrefix(err.Error(), root+"/"), tc.wantErr) {
					t.Fatalf("Load error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if sp.Limits.SMSSegments != tc.want {
				t.Errorf("SMSSegments = %d, want %d", sp.Limits.SMSSegments, tc.want)
			}
		})
	}
}

func TestRemoteMedia(t *testing.T) {
	const head = `id: soldes
channels: [mms]
sender: {sms: MaisonDupont}
steps:
  - id: photo
    mms:
      text: templates/mms.txt
      media:
        - templates/vitrine.png
        - `
	tests := []struct {
		name    string
		media   string
		wantErr string // "" = accepted
	}{
		{name: "https URL", media: "https://cdn.example/visuel.jpg"},
		{name: "https URL with query and port", media: "https://cdn.example:8443/v.jpg?w=640"},
		{name: "public IP literal", media: "https://93.184.215.14/v.jpg"},
		{name: "http refused", media: "http://cdn.example/visuel.jpg", wantErr: "10:11: mms.media URL must be https"},
		{name: "credentials refused", media: "https://user:pw@cdn.example/v.jpg", wantErr: "10:11: mms.media URL must not contain credentials"},
		{name: "loopback refused", media: "https://127.0.0.1/v.jpg", wantErr: "10:11: mms.media URL host 127.0.0.1 is a loopback, private or reserved address"},
		{name: "private refused", media: "https://10.1.2.3/v.jpg", wantErr: "10:11: mms.media URL host 10.1.2.3 is a loopback"},
		{name: "link-local refused", media: "https://169.254.169.254/latest/meta-data", wantErr: "10:11: mms.media URL host 169.254.169.254 is a loopback"},
		{name: "IPv6 loopback refused", media: "https://[::1]/v.jpg", wantErr: "10:11: mms.media URL host ::1 is a loopback"},
		{name: "IPv4-mapped private refused", media: "https://[::ffff:192.168.1.1]/v.jpg", wantErr: "10:11: mms.media URL host ::ffff:192.168.1.1 is a loopback"},
		{name: "localhost refused", media: "https://localhost/v.jpg", wantErr: "10:11: mms.media URL must not point at this machine"},
		{name: "other scheme refused", media: "ftp://cdn.example/v.jpg", wantErr: "10:11: mms.media URL must be https"},
		{name: "missing local file still an error", media: "templates/absent.png", wantErr: "10:11: cannot read templates/absent.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRepo(t, map[string]string{
				"campaigns/soldes.yaml": head + tc.media + "\n",
				"templates/mms.txt":     "Les soldes ! STOP au 36180",
				"templates/vitrine.png": "\x89PNG\r\n\x1a\n",
			})
			sp, err := Load(filepath.Join(root, "campaigns", "soldes.yaml"))
			if tc.wantErr != "" {
				want := filepath.Join(root, "campaigns", "soldes.yaml") + ":" + tc.wantErr
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("Load error %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := sp.Steps[0].Content["mms"].(*sms.Content).Media; !slices.Equal(got, []string{"templates/vitrine.png", tc.media}) {
				t.Errorf("media = %q", got)
			}
			if _, read := sp.Files[tc.media]; read {
				t.Errorf("remote media %s was read as a file", tc.media)
			}
			if _, read := sp.Files["templates/vitrine.png"]; !read {
				t.Errorf("local media not read")
			}
		})
	}
}
