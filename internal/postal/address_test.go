package postal

import (
	"errors"
	"reflect"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

func TestAddress(t *testing.T) {
	tests := []struct {
		name    string
		c       contact.Contact
		want    []string
		wantErr bool
	}{
		{
			name: "person with accents and punctuation",
			c: contact.Contact{Title: "Mme", FirstName: "Françoise", LastName: "Lefèvre",
				Address: contact.Address{Line1: "Appartement 12, escalier B", Line2: "3, rue de l'Église", Postcode: "69 003", City: "Lyon"}},
			want: []string{"Madame Françoise Lefèvre", "Appartement 12, escalier B", "3 RUE DE L EGLISE", "69003 LYON"},
		},
		{
			name: "business with a person and CEDEX",
			c: contact.Contact{Kind: contact.KindBusiness, Company: "Œuvres & Cie", Title: "M.", FirstName: "Jean", LastName: "Martin",
				Address: contact.Address{Line1: "BP 42", Line2: "Zone industrielle Nord", Postcode: "13001", City: "Marseille Cedex 01"}},
			want: []string{"Œuvres & Cie", "A l'attention de Monsieur Jean Martin", "BP 42", "ZONE INDUSTRIELLE NORD", "13001 MARSEILLE CEDEX 01"},
		},
		{
			name: "business without a person",
			c:    contact.Contact{Kind: contact.KindBusiness, Company: "Dupont SA", Address: contact.Address{Line1: "1 place Bellecour", Postcode: "69002", City: "Lyon"}},
			want: []string{"Dupont SA", "1 PLACE BELLECOUR", "69002 LYON"},
		},
		{
			name: "overlong street abbreviated",
			c: contact.Contact{FirstName: "Zoë", LastName: "Roux",
				Address: contact.Address{Line1: "128 boulevard du Général Saint-Exupéry prolongé", Postcode: "42000", City: "Saint-Étienne"}},
			want: []string{"Zoë Roux", "128 BD DU GAL ST EXUPERY PROLONGE", "42000 SAINT ETIENNE"},
		},
		{
			name: "foreign address gets a country line",
			c: contact.Contact{Title: "Mrs", FirstName: "Ann", LastName: "Lee",
				Address: contact.Address{Line1: "Rue Neuve 5", Postcode: "1000", City: "Bruxelles", Country: "be"}},
			want: []string{"Madame Ann Lee", "RUE NEUVE 5", "1000 BRUXELLES", "BELGIQUE"},
		},
		{
			name: "too long even abbreviated",
			c: contact.Contact{FirstName: "A", LastName: "B",
				Address: contact.Address{Line1: "Lieu dit Les Grandes Combes de la Montagne Noire du Haut", Postcode: "09000", City: "Foix"}},
			wantErr: true,
		},
		{
			name: "seven lines",
			c: contact.Contact{Kind: contact.KindBusiness, Company: "X", FirstName: "A", LastName: "B",
				Address: contact.Address{Line1: "a", Line2: "b", Line3: "c", Line4: "d", Postcode: "75001", City: "Paris"}},
			wantErr: true,
		},
		{
			name:    "bad postcode",
			c:       contact.Contact{FirstName: "A", LastName: "B", Address: contact.Address{Line1: "1 rue X", Postcode: "7500", City: "Paris"}},
			wantErr: true,
		},
		{
			name:    "no name",
			c:       contact.Contact{Address: contact.Address{Line1: "1 rue X", Postcode: "75001", City: "Paris"}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Address(&tt.c)
			if tt.wantErr {
				var re *RefusalError
				if !errors.As(err, &re) || re.Reason != ReasonInvalidAddress || !errors.Is(err, channel.ErrPermanent) {
					t.Fatalf("err = %v, want invalid_address wrapping ErrPermanent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Address: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			for i, l := range got {
				if n := len([]rune(l)); n > MaxLineChars {
					t.Errorf("line %d has %d chars", i+1, n)
				}
			}
		})
	}
}
