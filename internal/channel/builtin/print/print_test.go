package print_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin/print"
	"github.com/relais-dev/relais/internal/contact"
)

// A letter's address is usable only when it can be written to NF Z10-011;
// a missing one is "no address", for the policy to refuse as such.
func TestAddressCheck(t *testing.T) {
	ok := &contact.Contact{FirstName: "Camille", LastName: "Durand",
		Address: contact.Address{Line1: "12 rue Mercière", Postcode: "69002", City: "Lyon"}}
	long := *ok
	long.Address.Line1 = strings.Repeat("x", 45) + " chemin des Grandes Vignes"
	noCity := *ok
	noCity.Address.City = ""
	tests := []struct {
		name        string
		c           *contact.Contact
		none, inval bool
	}{
		{name: "printable", c: ok},
		{name: "too long for NF Z10-011", c: &long, inval: true},
		{name: "no city", c: &noCity, inval: true},
		{name: "no postal address", c: &contact.Contact{LastName: "Durand"}, none: true},
		{name: "postcode without a line", c: &contact.Contact{LastName: "Durand", Address: contact.Address{Postcode: "69002"}}, inval: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := print.Address.Check(tt.c)
			var inv *channel.InvalidAddressError
			if got := errors.Is(err, channel.ErrNoAddress); got != tt.none {
				t.Errorf("Check = %v, want no address %v", err, tt.none)
			}
			if got := errors.As(err, &inv); got != tt.inval {
				t.Errorf("Check = %v, want invalid %v", err, tt.inval)
			}
		})
	}
}
