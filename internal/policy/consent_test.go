package policy

import (
	"errors"
	"testing"
)

func TestParseConsent(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		in      string
		want    *bool
		wantErr bool
	}{
		{name: "empty is unknown", in: "", want: nil},
		{name: "blank is unknown", in: "  \t", want: nil},
		{name: "yes", in: "yes", want: &yes},
		{name: "YES upper", in: "YES", want: &yes},
		{name: "y", in: "y", want: &yes},
		{name: "oui", in: "Oui", want: &yes},
		{name: "o", in: "O", want: &yes},
		{name: "1", in: "1", want: &yes},
		{name: "true", in: "True", want: &yes},
		{name: "vrai", in: "VRAI", want: &yes},
		{name: "no", in: "no", want: &no},
		{name: "n", in: "N", want: &no},
		{name: "non", in: " non ", want: &no},
		{name: "0", in: "0", want: &no},
		{name: "false", in: "FALSE", want: &no},
		{name: "faux", in: "faux", want: &no},
		{name: "ticked box", in: "X", want: &yes},
		{name: "accented oui", in: "ouí", want: &yes},
		{name: "accented non", in: "NÔN", want: &no},
		{name: "maybe is an error", in: "peut-être", wantErr: true},
		{name: "2 is an error", in: "2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConsent(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrConsentValue) {
					t.Fatalf("ParseConsent(%q) error = %v, want ErrConsentValue", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConsent(%q): %v", tt.in, err)
			}
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("ParseConsent(%q) = %v, want nil", tt.in, *got)
			case tt.want != nil && (got == nil || *got != *tt.want):
				t.Errorf("ParseConsent(%q) = %v, want %v", tt.in, got, *tt.want)
			}
		})
	}
}

func TestParseConsentErrorHasNoLongValue(t *testing.T) {
	_, err := ParseConsent("jeanne.dupont@example.fr")
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); len(got) > 90 || containsAll(got, "example.fr") {
		t.Errorf("error quotes too much of the cell: %q", got)
	}
}

func containsAll(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
