package campaign_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/campaign"
)

// FuzzValidate feeds hostile campaign files to the parser and validator:
// they never panic, and a file that validates also loads.
func FuzzValidate(f *testing.F) {
	f.Add([]byte("id: a\nname: A\npurpose: marketing\naudience: {source: contacts}\nchannels: [email]\nsender: {email: \"A <a@b.example>\"}\nsteps:\n  - id: s1\n    email: {subject: Hi, text: t.txt}\n"))
	f.Add([]byte("steps: [{id: x, after: 3d, when: 'not opened(\"x\")'}]\nlimits: {email: 50/s, frequency_cap: 3/7d}\n"))
	f.Add([]byte("&a [*a, *a]\n"))
	f.Add([]byte("id: \"\\u0000\"\nchannels: {}\nsteps: 7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "campaigns", "c.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if errs := campaign.Validate(p); len(errs) == 0 {
			if _, err := campaign.Load(p); err != nil {
				t.Fatalf("validates but does not load: %v", err)
			}
		}
	})
}
