package policy

import (
	"context"
	"errors"
)

// ErrNoChannel is returned by Choose for a step without channels.
var ErrNoChannel = errors.New("step has no channel")

// Choose picks a step's channel in preference order: the first of chans
// whose decision is not a refusal. When every channel refuses, it returns
// the most telling refusal: the first one, unless that one only says the
// contact has no address there and a later channel refused for another
// reason.
func Choose(ctx context.Context, chans []string, decide func(ctx context.Context, ch string) (Decision, error)) (string, Decision, error) {
	var firstCh string
	var firstDec Decision
	for _, ch := range chans {
		dec, err := decide(ctx, ch)
		if err != nil {
			return "", dec, err
		}
		if dec.Verdict != Deny {
			return ch, dec, nil
		}
		if firstCh == "" || (firstDec.Reason == ReasonNoAddress && dec.Reason != ReasonNoAddress) {
			firstCh, firstDec = ch, dec
		}
	}
	if firstCh == "" {
		return "", Decision{}, ErrNoChannel
	}
	return firstCh, firstDec, nil
}
