package email

import (
	"errors"
	"fmt"
	"net/textproto"

	mail "github.com/wneessen/go-mail"

	"github.com/relais-dev/relais/internal/channel"
)

// Reason codes returned by Reason. They are stable: the worker stores them
// in the ledger and the suppression list keys off ReasonHardBounce.
const (
	// ReasonInvalidHeader: a subject, name, address or header value holds a
	// CR or LF (header injection) or a header name is not allowed.
	ReasonInvalidHeader = "invalid_header"
	// ReasonInvalidAddress: From or To is not an RFC 5322 address.
	ReasonInvalidAddress = "invalid_address"
	// ReasonHardBounce: the relay refused the recipient with a 5xx reply.
	ReasonHardBounce = "hard_bounce"
	// ReasonRejected: the relay refused the sender or the content (5xx).
	ReasonRejected = "rejected"
	// ReasonDeferred: the relay answered 4xx; retry later.
	ReasonDeferred = "deferred"
	// ReasonUnavailable: the relay could not be reached or the connection
	// broke; retry later.
	ReasonUnavailable = "unavailable"
	// ReasonNoReply: the message was sent up to the final dot of DATA and
	// the relay's reply was lost; it may have been queued (ambiguous).
	ReasonNoReply = "no_reply_after_data"
	// ReasonAuth: the relay refused the account (530, 534, 535, 538), not
	// the message: the channel pauses until the credentials are fixed.
	ReasonAuth = "auth"
)

// AccountSetting is what an operator fixes when the relay refuses the
// account: the credentials in the relay URL, or its TLS mode when the
// relay requires encryption before AUTH.
const AccountSetting = "RELAIS_SMTP_URL (smtp_url): the relay's user and password (smtp://USER:PASSWORD@host:port) and its tls= mode"

// accountCodes are the SMTP replies that refuse the account rather than
// a message (RFC 4954): authentication required (530), mechanism too
// weak (534), credentials invalid (535), encryption required for the
// mechanism (538).
var accountCodes = map[int]bool{530: true, 534: true, 535: true, 538: true}

// IsAccountCode reports whether an SMTP reply code refuses the account
// (530, 534, 535, 538) rather than one message.
func IsAccountCode(code int) bool { return accountCodes[code] }

// Error is a failed send. Its text carries the stage, SMTP code and reason
// but never the recipient or the relay's reply text, which often echoes the
// address. It wraps channel.ErrPermanent when a retry cannot help, and the
// cause (for errors.As), which may hold personal data: do not log the cause.
type Error struct {
	Reason string // one of the Reason… constants
	Stage  string // "build", "dial", "mail", "rcpt", "data", "send"
	Code   int    // SMTP reply code, 0 when there was no reply
	// Enhanced is the RFC 3463 status ("5.1.1"), when the relay gave one.
	Enhanced  string
	Permanent bool
	// Ambiguous: the reply to the end of DATA was lost (wraps
	// channel.ErrAmbiguous).
	Ambiguous bool
	// Account: the relay refused the account, not the message (wraps
	// channel.ErrAccount through a *channel.AccountError naming
	// AccountSetting; see account).
	Account bool
	cause   error
	// spoilt: the connection cannot carry another message.
	spoilt bool
}

// Error describes the failure without personal data.
func (e *Error) Error() string {
	kind := "temporary"
	switch {
	case e.Permanent:
		kind = "permanent"
	case e.Ambiguous:
		kind = "outcome unknown"
	case e.Account:
		kind = "account refused"
	}
	s := "email: " + e.Stage
	if e.Code != 0 {
		s += fmt.Sprintf(": smtp %d", e.Code)
		if e.Enhanced != "" {
			s += " " + e.Enhanced
		}
	}
	s += ": " + e.Reason + " (" + kind + ")"
	if e.Code == 0 && e.cause != nil && e.Stage != "build" && !hasPII(e.cause) {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap exposes channel.ErrPermanent (when permanent) and the cause.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Permanent {
		errs = append(errs, channel.ErrPermanent)
	}
	if e.Ambiguous {
		errs = append(errs, channel.ErrAmbiguous)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// hasPII reports whether err's text may carry an address: a relay's
// reply often echoes the recipient, and a malformed reply is quoted
// whole.
func hasPII(err error) bool {
	var te *textproto.Error
	var pe textproto.ProtocolError
	return errors.As(err, &te) || errors.As(err, &pe)
}

// Reason returns the stable reason code of an error returned by this
// package ("hard_bounce", "rejected", "invalid_header", …), or "" for nil
// and for errors from elsewhere (context cancellation included).
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func buildErr(reason string, cause error) error {
	return &Error{Reason: reason, Stage: "build", Permanent: true, cause: cause}
}

// classify turns a failed transaction (see transact) into an *Error. A
// network failure has no code and is temporary; only a 5xx reply is
// final; a lost reply to the end of DATA is ambiguous.
func classify(err error) *Error {
	var se *stageError
	if !errors.As(err, &se) {
		return &Error{Reason: ReasonUnavailable, Stage: "send", cause: err}
	}
	e := &Error{Stage: se.stage, spoilt: se.spoilt, cause: err}
	if se.stage == "dataclose" {
		e.Stage = "data"
	}
	var te *textproto.Error
	if errors.As(se.err, &te) {
		e.Code = te.Code
		if se.esc {
			e.Enhanced = enhancedCode.FindString(te.Msg)
		}
	}
	// A reply out of place (no 4xx or 5xx) leaves the session's state
	// unknown, and 421 announces that the relay closes it: neither
	// session carries another message.
	if e.Code != 0 && (e.Code < 400 || e.Code >= 600 || e.Code == 421) {
		e.spoilt = true
	}
	switch {
	case accountCodes[e.Code]:
		e.Reason, e.Account = ReasonAuth, true
	case e.Code >= 500 && e.Code < 600:
		e.Permanent = true
		e.Reason = ReasonRejected
		if se.stage == "rcpt" {
			e.Reason = ReasonHardBounce
		}
	case e.Code >= 400 && e.Code < 500:
		e.Reason = ReasonDeferred
	case se.stage == "dataclose":
		e.Reason, e.Ambiguous = ReasonNoReply, true
	default:
		e.Reason = ReasonUnavailable
	}
	return e
}

// classifyDial turns a failed connection into an *Error: a refused AUTH
// (a 530/534/535/538 reply, or a relay offering no mechanism the
// configured credentials can use) is an account error; anything else is
// a relay that could not be reached, retried later.
func classifyDial(err error) *Error {
	var te *textproto.Error
	if errors.As(err, &te) && accountCodes[te.Code] {
		return &Error{Reason: ReasonAuth, Stage: "auth", Code: te.Code, Account: true, cause: err}
	}
	for _, ae := range []error{mail.ErrNoSupportedAuthDiscovered, mail.ErrPlainAuthNotSupported, mail.ErrLoginAuthNotSupported} {
		if errors.Is(err, ae) {
			return &Error{Reason: ReasonAuth, Stage: "auth", Account: true, cause: err}
		}
	}
	return &Error{Reason: ReasonUnavailable, Stage: "dial", cause: err}
}

// account returns e, wrapped as a channel account error naming
// AccountSetting when the relay refused the account.
func account(e *Error) error {
	if e.Account {
		return channel.Account(AccountSetting, e)
	}
	return e
}

// safeToRetry reports whether a failure happened before the relay could
// have accepted the message, so that resending on a fresh connection
// cannot deliver it twice: a dead pooled connection shows up as a network
// error at the connection check or at MAIL FROM.
func safeToRetry(e *Error) bool {
	return e.Code == 0 && (e.Stage == "conn" || e.Stage == "mail")
}

// ReasonCode implements channel.Reasoner.
func (e *Error) ReasonCode() string { return e.Reason }
