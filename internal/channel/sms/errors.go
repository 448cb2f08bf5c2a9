package sms

import (
	"errors"
	"fmt"

	"github.com/relais-dev/relais/internal/channel"
)

// Reasons returned by Reason. They are stable: the ledger stores them and
// reports group by them. Provider packages map their own error codes onto
// them (the Twilio codes are noted).
const (
	// Permanent: no retry can help.
	ReasonInvalidAddress = "invalid_address" // not E.164, or Twilio 21211
	ReasonLandline       = "landline"        // Twilio 21614: not a mobile number
	ReasonOptedOut       = "opted_out"       // Twilio 21610: the recipient texted STOP; suppress the number
	ReasonUnreachable    = "unreachable"     // Twilio 21408 / 21612: region or carrier cannot be reached
	ReasonInvalidSender  = "invalid_sender"  // no sender configured; Twilio 21606/21212 (an account error: the channel pauses)
	ReasonInvalidMessage = "invalid_message" // empty body, body too long (21617), media on the sms channel
	ReasonInvalidMedia   = "invalid_media"   // MMS media not a public https URL, or Twilio 21620
	ReasonAuth           = "auth"            // Twilio refused the credentials (401/403, 20003): an account error, the channel pauses
	ReasonRejected       = "rejected"        // any other 4xx from Twilio

	// Temporary: a retry with backoff may succeed.
	ReasonThrottled = "throttled"      // HTTP 429
	ReasonProvider  = "provider_error" // HTTP 5xx or an unreadable answer
	ReasonNetwork   = "network"        // connection, DNS or timeout error
)

// Error is a failed send, classified. It never holds the recipient's number
// or the message text: a provider's own error message (Twilio's quotes the
// number) is dropped, only its code, HTTP status and documentation link are
// kept.
type Error struct {
	Reason    string // one of the Reason… constants
	Provider  string // provider that answered ("twilio"), empty for relais' own checks
	Code      int    // provider error code, 0 when the failure is not the provider's answer
	Status    int    // HTTP status, 0 when there was no answer
	Permanent bool   // wraps channel.ErrPermanent
	MoreInfo  string // provider's documentation URL for Code
	cause     error
}

// Fail returns a classified error with its cause (a network or context
// error, never text that may quote personal data), so provider packages
// classify into the same reasons the ledger and reports know.
func Fail(reason string, permanent bool, cause error) *Error {
	return &Error{Reason: reason, Permanent: permanent, cause: cause}
}

// Error describes the failure without personal data.
func (e *Error) Error() string {
	switch {
	case e.Code != 0:
		return fmt.Sprintf("sms: %s error %d (HTTP %d): %s", e.Provider, e.Code, e.Status, e.Reason)
	case e.cause != nil:
		return fmt.Sprintf("sms: %s: %v", e.Reason, e.cause)
	default:
		return "sms: " + e.Reason
	}
}

// Unwrap exposes channel.ErrPermanent for permanent failures (so the worker
// skips retries) and the underlying cause (a network error, a context
// error) for errors.Is.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Permanent {
		out = append(out, channel.ErrPermanent)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Reason returns the stable reason of an error returned by a Send of the
// sms/mms channel, or "" when err is nil or was not classified.
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Permanent returns a permanent *Error for a message no provider could
// send (detail names the check, never the message's content).
func Permanent(reason, detail string) error {
	return &Error{Reason: reason, Permanent: true, cause: errors.New(detail)}
}

// ReasonCode implements channel.Reasoner.
func (e *Error) ReasonCode() string { return e.Reason }
