package sms_test

import (
	"errors"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/contact"
)

// The text channels' one address rule: an E.164 number libphonenumber
// finds possible; a number the import could not normalize is invalid, not
// missing.
func TestAddressCheck(t *testing.T) {
	tests := []struct {
		name        string
		c           contact.Contact
		none, inval bool
	}{
		{name: "E.164 mobile", c: contact.Contact{Phone: "+33612345678"}},
		{name: "E.164 UK", c: contact.Contact{Phone: "+447400123456"}},
		{name: "no phone", c: contact.Contact{}, none: true},
		{name: "kept raw by the import", c: contact.Contact{PhoneRaw: "12"}, inval: true},
		{name: "national form", c: contact.Contact{Phone: "06 12 34 56 78"}, inval: true},
		{name: "too short", c: contact.Contact{Phone: "+3312"}, inval: true},
		{name: "not canonical", c: contact.Contact{Phone: "+33 6 12 34 56 78"}, inval: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sms.Address.Check(&tt.c)
			var inv *channel.InvalidAddressError
			if errors.Is(err, channel.ErrNoAddress) != tt.none || errors.As(err, &inv) != tt.inval {
				t.Errorf("Check = %v, want none %v invalid %v", err, tt.none, tt.inval)
			}
		})
	}
	if sms.NewSMS().FamilyName() != sms.NewMMS().FamilyName() {
		t.Error("sms and mms are not one family")
	}
}
