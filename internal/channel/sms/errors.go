package sms

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/twilio/twilio-go/client"

	"github.com/relais-dev/relais/internal/channel"
)

// Reasons returned by Reason. They are stable: the ledger stores them and
// reports group by them.
const (
	// Permanent: no retry can help.
	ReasonInvalidAddress = "invalid_address" // not E.164, or Twilio 21211
	ReasonLandline       = "landline"        // Twilio 21614: not a mobile number
	ReasonOptedOut       = "opted_out"       // Twilio 21610: the recipient texted STOP; suppress the number
	ReasonUnreachable    = "unreachable"     // Twilio 21408 / 21612: region or carrier cannot be reached
	ReasonInvalidSender  = "invalid_sender"  // no sender configured, or Twilio 21606
	ReasonInvalidMessage = "invalid_message" // empty body, body too long (21617), media on the sms channel
	ReasonInvalidMedia   = "invalid_media"   // MMS media not a public https URL, or Twilio 21620
	ReasonAuth           = "auth"            // Twilio refused the credentials (401/403)
	ReasonRejected       = "rejected"        // any other 4xx from Twilio

	// Temporary: a retry with backoff may succeed.
	ReasonThrottled = "throttled"      // HTTP 429
	ReasonProvider  = "provider_error" // HTTP 5xx or an unreadable answer
	ReasonNetwork   = "network"        // connection, DNS or timeout error
)

// permanentCodes maps the Twilio error codes relais knows to a reason;
// any other 4xx is ReasonRejected.
var permanentCodes = map[int]string{
	21211: ReasonInvalidAddress,
	21614: ReasonLandline,
	21610: ReasonOptedOut,
	21408: ReasonUnreachable,
	21612: ReasonUnreachable,
	21606: ReasonInvalidSender,
	21617: ReasonInvalidMessage,
	21620: ReasonInvalidMedia,
}

// Error is a failed send, classified. It never holds the recipient's number
// or the message text: Twilio's own error message (which quotes the number)
// is dropped, only its code, HTTP status and documentation link are kept.
type Error struct {
	Reason    string // one of the Reason… constants
	Code      int    // Twilio error code, 0 when the failure is not Twilio's answer
	Status    int    // HTTP status, 0 when there was no answer
	Permanent bool   // wraps channel.ErrPermanent
	MoreInfo  string // Twilio's documentation URL for Code
	cause     error
}

// Error describes the failure without personal data.
func (e *Error) Error() string {
	switch {
	case e.Code != 0:
		return fmt.Sprintf("sms: twilio error %d (HTTP %d): %s", e.Code, e.Status, e.Reason)
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

// Reason returns the stable reason of an error returned by Send, or "" when
// err is nil or did not come from this package.
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func permanent(reason, detail string) error {
	return &Error{Reason: reason, Permanent: true, cause: errors.New(detail)}
}

// classify turns what twilio-go returned into an *Error. Twilio's REST
// errors are permanent for 4xx except 429; everything else (5xx, network,
// undecodable answers) is temporary, because message creation is what
// failed and a later attempt can succeed.
func classify(err error) error {
	var tre *client.TwilioRestError
	if !errors.As(err, &tre) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return &Error{Reason: ReasonNetwork, cause: err}
		}
		return &Error{Reason: ReasonProvider, cause: err}
	}
	e := &Error{Code: tre.Code, Status: tre.Status, MoreInfo: tre.MoreInfo}
	reason, known := permanentCodes[tre.Code]
	switch {
	case tre.Status == http.StatusTooManyRequests || tre.Code == 20429:
		e.Reason = ReasonThrottled
	case tre.Status >= 500:
		e.Reason = ReasonProvider
	case known:
		e.Reason, e.Permanent = reason, true
	case tre.Status == http.StatusUnauthorized || tre.Status == http.StatusForbidden:
		e.Reason, e.Permanent = ReasonAuth, true
	case tre.Status >= 400:
		e.Reason, e.Permanent = ReasonRejected, true
	default: // no usable status: do not give up on a message for an answer we cannot read
		e.Reason = ReasonProvider
	}
	return e
}

// ReasonCode implements channel.Reasoner.
func (e *Error) ReasonCode() string { return e.Reason }
