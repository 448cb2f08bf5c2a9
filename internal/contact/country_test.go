package contact

import "testing"

// TestNormalizeCountry: names and codes in French and English map to ISO
// codes; an unknown value is kept upper-cased and reported.
func TestNormalizeCountry(t *testing.T) {
	tests := []struct {
		in, want string
		known    bool
	}{
		{"France", "FR", true}, {"FRANCE", "FR", true}, {"fr", "FR", true}, {"FRA", "FR", true},
		{"Belgique", "BE", true}, {"Deutschland", "DE", true}, {"Allemagne", "DE", true},
		{"Suisse", "CH", true}, {"Espagne", "ES", true}, {"Italie", "IT", true},
		{"United Kingdom", "GB", true}, {"Royaume-Uni", "GB", true}, {" la  Réunion ", "RE", true},
		{"", "", true}, {"Atlantide", "ATLANTIDE", false}, {"ZZ", "ZZ", false},
	}
	for _, tc := range tests {
		got, known := NormalizeCountry(tc.in)
		if got != tc.want || known != tc.known {
			t.Errorf("NormalizeCountry(%q) = %q, %v; want %q, %v", tc.in, got, known, tc.want, tc.known)
		}
	}
	c := &Contact{FirstName: "Jean\r\nBcc: evil@example.net", Address: Address{Country: "France"}}
	c.Normalize()
	if c.Address.Country != "FR" || c.FirstName != "Jean Bcc: evil@example.net" {
		t.Errorf("Normalize: country %q, first name %q", c.Address.Country, c.FirstName)
	}
}
