package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateWarnsLongSMS checks that an SMS step rendering past
// limits.sms_segments for a sample recipient is reported as a warning at
// its text: position, in text and JSON output, without failing validate.
func TestValidateWarnsLongSMS(t *testing.T) {
	project(t)
	files := map[string]string{
		"campaigns/relance.yaml": `id: relance
channels: [sms]
audience: {source: file, file: samples/clients.csv}
sender: {sms: MaisonDupont}
limits: {sms_segments: 1}
steps:
  - id: relance
    sms:
      text: templates/relance/sms.txt
`,
		"templates/relance/sms.txt": "Bonjour {{.Contact.FirstName}}, la Maison Dupont vous offre 20 % sur toute la collection de printemps jusqu'au 31 mars, en boutique et en ligne. Réponse STOP au 36180 pour ne plus recevoir nos SMS.\n",
	}
	for p, s := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &cli{t: t, env: map[string]string{}}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "text", args: []string{"validate", "campaigns/relance.yaml"},
			want: "campaigns/relance.yaml:9:13: warning: step relance: sms renders to 2 segments (GSM-7) for sample recipient 1, over 1\n"},
		{name: "json", args: []string{"validate", "--json", "campaigns/relance.yaml"},
			want: `"warnings":[{"file":"campaigns/relance.yaml","line":9,"col":13,"message":"step relance: sms renders to 2 segments (GSM-7) for sample recipient 1, over 1"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(context.Background(), tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0 (warnings do not fail validate)\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.want) {
				t.Errorf("output %q does not contain %q", r.stdout, tt.want)
			}
			if tt.name == "json" {
				var out struct{ Valid bool }
				if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.Valid {
					t.Errorf("json output %q: valid=%v, err=%v", r.stdout, out.Valid, err)
				}
			}
		})
	}
}
