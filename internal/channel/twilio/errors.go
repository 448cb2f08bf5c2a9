package twilio

import (
	"errors"
	"net/http"
	"net/url"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/sms"
)

// permanentCodes maps the Twilio error codes relais knows to a reason;
// any other 4xx is sms.ReasonRejected.
var permanentCodes = map[int]string{
	21211: sms.ReasonInvalidAddress,
	21614: sms.ReasonLandline,
	21610: sms.ReasonOptedOut,
	21408: sms.ReasonUnreachable,
	21612: sms.ReasonUnreachable,
	21606: sms.ReasonInvalidSender,
	21617: sms.ReasonInvalidMessage,
	21620: sms.ReasonInvalidMedia,
}

// classify turns what twilio-go returned into an *Error. Twilio's REST
// errors are permanent for 4xx except 429; everything else (5xx, network,
// undecodable answers) is temporary, because message creation is what
// failed and a later attempt can succeed.
func classify(err error) error {
	var tre *twclient.TwilioRestError
	if !errors.As(err, &tre) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return sms.Fail(sms.ReasonNetwork, false, err)
		}
		return sms.Fail(sms.ReasonProvider, false, err)
	}
	e := &sms.Error{Provider: "twilio", Code: tre.Code, Status: tre.Status, MoreInfo: tre.MoreInfo}
	reason, known := permanentCodes[tre.Code]
	switch {
	case tre.Status == http.StatusTooManyRequests || tre.Code == 20429:
		e.Reason = sms.ReasonThrottled
	case tre.Status >= 500:
		e.Reason = sms.ReasonProvider
	case known:
		e.Reason, e.Permanent = reason, true
	case tre.Status == http.StatusUnauthorized || tre.Status == http.StatusForbidden:
		e.Reason, e.Permanent = sms.ReasonAuth, true
	case tre.Status >= 400:
		e.Reason, e.Permanent = sms.ReasonRejected, true
	default: // no usable status: do not give up on a message for an answer we cannot read
		e.Reason = sms.ReasonProvider
	}
	return e
}

// answered reports whether err carries an answer from Twilio (a REST
// error), as opposed to a transport failure.
func answered(err error) bool {
	var tre *twclient.TwilioRestError
	return errors.As(err, &tre)
}

// ambiguousError is a create request that went out without an answer.
type ambiguousError struct{ error }

func (e ambiguousError) Unwrap() []error { return []error{e.error, channel.ErrAmbiguous} }

// ambiguous marks e as a send whose outcome is unknown.
func ambiguous(e error) error { return ambiguousError{e} }
