// Package builtin registers the channels relais ships with, in one place:
// email, sms, mms and print, in that order (the default channel order of a
// step without channels:).
package builtin

import (
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/builtin/print"
	"github.com/relais-dev/relais/internal/channel/builtin/sms"
)

// Register adds the built-in channels to r.
func Register(r *channel.Registry) error {
	return r.Register(email.New(), sms.NewSMS(), sms.NewMMS(), print.New())
}

// Channels returns a new registry of the built-in channels, without
// senders: what validation, planning and tests use when no other channel
// is wired in.
func Channels() *channel.Registry {
	r := channel.NewRegistry()
	if err := Register(r); err != nil {
		panic(err) // the built-in names are distinct
	}
	return r
}
