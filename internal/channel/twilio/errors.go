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
	21617: sms.ReasonInvalidMessage,
	21620: sms.ReasonInvalidMedia,
}

// Settings named by account errors: what an operator fixes.
const (
	// CredentialsSetting: Twilio refused the account SID or auth token
	// (401, 20003), or the account may not do this (403).
	CredentialsSetting = "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (twilio_account_sid, twilio_auth_token)"
	// SenderSetting: the From is not a number or sender id of the
	// account that can send messages (21606, 21212).
	SenderSetting = "the From number: the campaign's sender for sms/mms (or the Twilio From configured) must be a message-capable number or sender id of this Twilio account"
)

// accountCodes are the Twilio error codes that refuse the account or the
// sender rather than one message, with the setting to fix.
var accountCodes = map[int]string{
	20003: CredentialsSetting, // authentication failed
	21606: SenderSetting,      // From is not a message-capable number of the account
	21212: SenderSetting,      // invalid From number
}

// AccountSettingOf returns the setting an operator must fix when Twilio
// answers httpStatus with error code, or "" when the answer refuses one
// message only: 401, 403, 20003, 21606 and 21212 refuse the account.
func AccountSettingOf(httpStatus, code int) string {
	if s, ok := accountCodes[code]; ok {
		return s
	}
	if httpStatus == http.StatusUnauthorized || httpStatus == http.StatusForbidden {
		return CredentialsSetting
	}
	return ""
}

// classify turns what twilio-go returned into an *Error. Twilio's REST
// errors are permanent for 4xx except 429 and the account errors (see
// AccountSettingOf), which wrap channel.ErrAccount; everything else (5xx, network,
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
	if setting := AccountSettingOf(tre.Status, tre.Code); setting != "" {
		// The account or the sender is refused, not this message: the
		// worker pauses the channel until the setting is fixed.
		e.Reason = sms.ReasonAuth
		if setting == SenderSetting {
			e.Reason = sms.ReasonInvalidSender
		}
		return channel.Account(setting, e)
	}
	reason, known := permanentCodes[tre.Code]
	switch {
	case tre.Status == http.StatusTooManyRequests || tre.Code == 20429:
		e.Reason = sms.ReasonThrottled
	case tre.Status >= 500:
		e.Reason = sms.ReasonProvider
	case known:
		e.Reason, e.Permanent = reason, true
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
