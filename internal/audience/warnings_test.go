package audience

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
)

// TestImportWarnings: a French export (';', Windows-1252) with a line
// break inside a quoted first name and a country written out keeps the
// rows, folds the name, maps the country, and warns about what it changed
// or could not read, by line and column.
func TestImportWarnings(t *testing.T) {
	src := "external_id;first_name;last_name;email;country\r\n" +
		"C1;\"Jean\r\nBcc: evil@example.net\";Dupont;jean@example.org;France\r\n" +
		"C2;H\xe9l\xe8ne;Martin;helene@example.org;Atlantide\r\n" +
		"C3;Paul;Durand;paul@example.org;Belgique\r\n"
	p := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	s.OnRowWarning = func(e RowError) { warns = append(warns, e.Error()) }
	var got []*contact.Contact
	if err := s.Each(context.Background(), func(c *contact.Contact) error { got = append(got, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].FirstName != "Jean Bcc: evil@example.net" || got[0].Address.Country != "FR" ||
		got[1].FirstName != "Hélène" || got[2].Address.Country != "BE" {
		t.Fatalf("contacts: %+v", got)
	}
	want := []string{
		p + ":2: first_name: line breaks or repeated spaces replaced by one space",
		p + ":4: country: not a known country name or ISO code; kept as written",
	}
	if !slices.Equal(warns, want) {
		t.Errorf("warnings:\n%q\nwant:\n%q", warns, want)
	}
}
