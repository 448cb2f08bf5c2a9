package contact

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{name: "plain", in: "jean.dupont@example.fr", want: "jean.dupont@example.fr", ok: true},
		{name: "trim and lower", in: "  Jean.Dupont@Example.FR \t", want: "jean.dupont@example.fr", ok: true},
		{name: "plus tag", in: "marie+news@mail.example.com", want: "marie+news@mail.example.com", ok: true},
		{name: "empty", in: "   ", want: "", ok: false},
		{name: "no at", in: "jean.example.fr", want: "jean.example.fr", ok: false},
		{name: "domain without dot", in: "jean@localhost", want: "jean@localhost", ok: false},
		{name: "domain trailing dot", in: "jean@example.", want: "jean@example.", ok: false},
		{name: "display name refused", in: "Jean <jean@example.fr>", want: "jean <jean@example.fr>", ok: false},
		{name: "two ats", in: "a@b@example.fr", want: "a@b@example.fr", ok: false},
		{name: "space inside", in: "jean dupont@example.fr", want: "jean dupont@example.fr", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeEmail(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		region  string
		want    string
		wantErr bool
		mobile  bool
	}{
		{name: "french national spaced", raw: "06 12 34 56 78", want: "+33612345678", mobile: true},
		{name: "french dotted", raw: "06.12.34.56.78", region: "FR", want: "+33612345678", mobile: true},
		{name: "international with (0)", raw: "+33 (0)6 12 34 56 78", want: "+33612345678", mobile: true},
		{name: "00 prefix", raw: "0033 6 12 34 56 78", want: "+33612345678", mobile: true},
		{name: "already e164", raw: "+33612345678", want: "+33612345678", mobile: true},
		{name: "landline", raw: "01 23 45 67 89", want: "+33123456789", mobile: false},
		{name: "belgian mobile with region", raw: "0470 12 34 56", region: "BE", want: "+32470123456", mobile: true},
		{name: "too short", raw: "12", wantErr: true},
		{name: "letters", raw: "abc", wantErr: true},
		{name: "empty", raw: "  ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPhone) {
					t.Fatalf("NormalizePhone(%q) error = %v, want ErrInvalidPhone", tt.raw, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
			if m := IsMobile(got); m != tt.mobile {
				t.Fatalf("IsMobile(%q) = %v, want %v", got, m, tt.mobile)
			}
		})
	}
}

func TestContactNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Contact
		want Contact
	}{
		{
			name: "defaults filled",
			in:   Contact{Email: " Jean@Example.fr ", Phone: "06 12 34 56 78"},
			want: Contact{Email: "Jean@Example.fr", EmailNorm: "jean@example.fr", Phone: "+33612345678",
				Kind: KindPerson, Locale: "fr-FR", Timezone: "Europe/Paris", Address: Address{Country: "FR"}},
		},
		{
			name: "explicit values kept",
			in: Contact{Kind: "Business", Locale: "en-GB", Timezone: "Europe/London",
				Address: Address{Country: "gb", City: " London "}, Phone: "07400 123456"},
			want: Contact{Kind: KindBusiness, Locale: "en-GB", Timezone: "Europe/London",
				Address: Address{Country: "GB", City: "London"}, Phone: "+447400123456"},
		},
		{
			name: "invalid email and phone kept but flagged",
			in:   Contact{Email: "pas-une-adresse", Phone: "12"},
			want: Contact{Email: "pas-une-adresse", PhoneRaw: "12",
				Kind: KindPerson, Locale: "fr-FR", Timezone: "Europe/Paris", Address: Address{Country: "FR"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in
			c.Normalize()
			if c.Email != tt.want.Email || c.EmailNorm != tt.want.EmailNorm || c.Phone != tt.want.Phone ||
				c.PhoneRaw != tt.want.PhoneRaw || c.Kind != tt.want.Kind || c.Locale != tt.want.Locale ||
				c.Timezone != tt.want.Timezone || c.Address != tt.want.Address {
				t.Fatalf("Normalize() = %+v\nwant %+v", c, tt.want)
			}
			again := c
			again.Normalize()
			if again.Phone != c.Phone || again.PhoneRaw != c.PhoneRaw || again.EmailNorm != c.EmailNorm {
				t.Fatalf("Normalize not idempotent: %+v then %+v", c, again)
			}
		})
	}
}

// TestFastFrenchMatchesLibrary checks the fast path against
// phonenumbers.Parse on every 3-digit French prefix in several spellings.
func TestFastFrenchMatchesLibrary(t *testing.T) {
	tests := []struct {
		name   string
		format func(nsn string) string
	}{
		{name: "national spaced", format: func(n string) string { return "0" + n[:1] + " " + n[1:3] + " " + n[3:5] + " " + n[5:7] + " " + n[7:] }},
		{name: "national dotted", format: func(n string) string { return "0" + n[:1] + "." + n[1:3] + "." + n[3:5] + "." + n[5:7] + "." + n[7:] }},
		{name: "international", format: func(n string) string { return "+33 " + n }},
		{name: "00 prefix", format: func(n string) string { return "0033" + n }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := 0
			defer func() {
				if hits < 100 {
					t.Errorf("fast path taken %d times: the comparison checked almost nothing", hits)
				}
			}()
			for p := 100; p <= 999; p++ {
				for _, tail := range []string{"000000", "123456", "987654"} {
					raw := tt.format(fmt.Sprint(p) + tail)
					fast, fastOK := fastFrench(raw, "FR")
					if !fastOK {
						continue
					}
					hits++
					n, err := phonenumbers.Parse(raw, "FR")
					if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != fast {
						t.Fatalf("%s: fast path %q, library disagrees (%v)", raw, fast, err)
					}
				}
			}
		})
	}
}
