package audience_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/contact"
)

// FuzzCSVImport feeds hostile CSV files to the importer: it never panics,
// every contact it yields holds valid UTF-8 (whatever the file's encoding),
// and every bad row it reports names a line of the file.
func FuzzCSVImport(f *testing.F) {
	f.Add([]byte("external_id;first_name;last_name;email;consent_email\nK1;Ana;Durand;ana@example.org;oui\n"))
	f.Add([]byte("external_id,email,phone\r\n\"a,b\",x@y.example,+33 6 12 34 56 78\r\n\"unterminated\n"))
	f.Add([]byte("\xef\xbb\xbfemail\tfirst_name\nz\xe9@example.org\t\xe9l\xe9onore\n"))
	f.Add([]byte("\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00"))
	f.Add([]byte("email;attrs.orders_12m;attrs.tags\na@b.example;-1e309;\"x;y\"\n;;\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "audience.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := audience.OpenFile(p, nil)
		if err != nil {
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		err = src.Each(context.Background(), func(c *contact.Contact) error {
			for _, v := range []string{c.ExternalID, c.FirstName, c.LastName, c.Email, c.Phone, c.Company,
				c.Address.Line1, c.Address.City, c.Address.Postcode} {
				if !utf8.ValidString(v) {
					t.Fatalf("contact field %q is not UTF-8", v)
				}
			}
			return nil
		})
		_ = err // a malformed file may end the pass with an error: it must not panic
		first, total := src.RowErrors()
		if len(first) > total {
			t.Fatalf("%d row errors listed, %d counted", len(first), total)
		}
		for _, e := range first {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("row error on line %d of a %d-line file: %v", e.Line, lines, e)
			}
		}
	})
}
