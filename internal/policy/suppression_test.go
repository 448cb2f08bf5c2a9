package policy

import (
	"testing"

	"github.com/relais-dev/relais/internal/contact"
)

var testSecret = []byte("0123456789abcdef")

func TestSuppressionKey(t *testing.T) {
	// Golden values computed independently (Python hmac, SHA-256) over
	// "<channel>\x00<address>".
	tests := []struct {
		name    string
		channel string
		addr    string
		want    string
	}{
		{name: "email", channel: contact.AddrEmail, addr: "jeanne@example.fr", want: "862d402f9c24d933f82dbddaf0b1640ab1059aee70f4cc19e927be6768d319ed"},
		{name: "phone", channel: contact.AddrPhone, addr: "+33612345678", want: "688f074953beedc832df17a7524d212f45166035ceab96edc0d38648cc0f730d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := contact.SuppressionKey(testSecret, tt.channel, tt.addr); got != tt.want {
				t.Errorf("SuppressionKey = %s, want %s", got, tt.want)
			}
		})
	}
	if contact.SuppressionKey([]byte("another secret!!"), contact.AddrEmail, "jeanne@example.fr") == tests[0].want {
		t.Error("the key does not depend on the secret")
	}
	if contact.SuppressionKey(testSecret, contact.AddrPhone, "jeanne@example.fr") == tests[0].want {
		t.Error("the key does not depend on the address channel")
	}
}

func TestNormalizePostal(t *testing.T) {
	tests := []struct {
		name string
		a    contact.Address
		want string
	}{
		{
			name: "accents, punctuation and case fold",
			a:    contact.Address{Line1: "12, rue de l'Église", Postcode: "69 002", City: "Lyon"},
			want: "FR|69002|12 RUE DE L EGLISE",
		},
		{
			name: "same address typed differently",
			a:    contact.Address{Line1: "  12 RUE DE L EGLISE ", Postcode: "69002", City: "LYON", Country: "fr"},
			want: "FR|69002|12 RUE DE L EGLISE",
		},
		{
			name: "several lines kept in order",
			a:    contact.Address{Line1: "Bâtiment B", Line3: "3 allée des Pins", Postcode: "33000", Country: "FR"},
			want: "FR|33000|BATIMENT B|3 ALLEE DES PINS",
		},
		{name: "no postcode", a: contact.Address{Line1: "3 allée des Pins", City: "Bordeaux"}, want: ""},
		{name: "no line", a: contact.Address{Postcode: "33000", City: "Bordeaux"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := contact.NormalizePostal(tt.a); got != tt.want {
				t.Errorf("NormalizePostal = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSuppressionKeys(t *testing.T) {
	tests := []struct {
		name string
		c    *contact.Contact
		want map[string]string
	}{
		{
			name: "all three, email case-folded",
			c: &contact.Contact{
				Email: " Jeanne@Example.FR ", Phone: "+33612345678",
				Address: contact.Address{Line1: "1 rue Haute", Postcode: "75001", City: "Paris"},
			},
			want: map[string]string{
				contact.AddrEmail:  contact.SuppressionKey(testSecret, contact.AddrEmail, "jeanne@example.fr"),
				contact.AddrPhone:  contact.SuppressionKey(testSecret, contact.AddrPhone, "+33612345678"),
				contact.AddrPostal: contact.SuppressionKey(testSecret, contact.AddrPostal, "FR|75001|1 RUE HAUTE"),
			},
		},
		{name: "phone only", c: &contact.Contact{Phone: "+33612345678"}, want: map[string]string{contact.AddrPhone: contact.SuppressionKey(testSecret, contact.AddrPhone, "+33612345678")}},
		{name: "nothing", c: &contact.Contact{FirstName: "Jeanne"}, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := contact.SuppressionKeys(testSecret, tt.c)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d: %v", len(got), len(tt.want), got)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("key %s = %s, want %s", k, got[k], v)
				}
			}
		})
	}
}

func TestAddressAndConsentChannels(t *testing.T) {
	tests := []struct {
		name, ch, addr, consent string
	}{
		{name: "email", ch: "email", addr: contact.AddrEmail, consent: "email"},
		{name: "sms", ch: "sms", addr: contact.AddrPhone, consent: "sms"},
		{name: "mms shares the phone", ch: "mms", addr: contact.AddrPhone, consent: "sms"},
		{name: "print", ch: "print", addr: contact.AddrPostal, consent: "postal"},
		{name: "unknown", ch: "fax", addr: "", consent: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AddressChannel(tt.ch); got != tt.addr {
				t.Errorf("AddressChannel(%q) = %q, want %q", tt.ch, got, tt.addr)
			}
			if got := ConsentChannel(tt.ch); got != tt.consent {
				t.Errorf("ConsentChannel(%q) = %q, want %q", tt.ch, got, tt.consent)
			}
		})
	}
}
