package twilio

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	twclient "github.com/twilio/twilio-go/client"
	"golang.org/x/text/unicode/norm"
)

// StatusSink records a delivery status Twilio reported for a message. It
// is expected to apply the status only when it advances the delivery (see
// Advances), because Twilio repeats and reorders callbacks.
type StatusSink interface {
	SMSStatus(ctx context.Context, sid, status string, errorCode int) error
}

// InboundSink handles a message a recipient sent back: an opt-out keyword
// or any other reply. fromE164 is the sender's number as Twilio gives it.
type InboundSink interface {
	OptOut(ctx context.Context, fromE164, body, sid string) error
	Reply(ctx context.Context, fromE164, body, sid string) error
}

// NewValidator returns twilio-go's validator for X-Twilio-Signature, keyed
// by the account's auth token.
func NewValidator(authToken string) *twclient.RequestValidator {
	v := twclient.NewRequestValidator(authToken)
	return &v
}

// maxWebhookBody bounds a webhook form; Twilio's are a few hundred bytes.
const maxWebhookBody = 64 << 10

const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// StatusHandler serves Twilio's status callbacks (POST, form with
// MessageSid, MessageStatus and, on failure, ErrorCode). The signature is
// checked against publicURL (scheme and host Twilio calls, e.g.
// "https://relais.example.com", no trailing slash needed) plus the request's
// original path and query, so the handler can sit behind a proxy or
// http.StripPrefix. Answers: 403 when the signature is missing or wrong
// (the sink is not called), 400 on a malformed form, 500 when the sink
// fails (Twilio retries), else 200 with empty TwiML.
func StatusHandler(v *twclient.RequestValidator, publicURL string, sink StatusSink) http.Handler {
	return webhook(v, publicURL, func(r *http.Request, form map[string]string) int {
		sid, status := form["MessageSid"], form["MessageStatus"]
		if sid == "" || status == "" {
			return http.StatusBadRequest
		}
		code := 0
		if s := form["ErrorCode"]; s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return http.StatusBadRequest
			}
			code = n
		}
		if err := sink.SMSStatus(r.Context(), sid, status, code); err != nil {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
}

// InboundHandler serves Twilio's incoming-message webhook. A body that is
// an opt-out keyword (IsOptOut) goes to sink.OptOut, anything else to
// sink.Reply. Signature checking and answers are as for StatusHandler.
func InboundHandler(v *twclient.RequestValidator, publicURL string, sink InboundSink) http.Handler {
	return webhook(v, publicURL, func(r *http.Request, form map[string]string) int {
		from, body, sid := form["From"], form["Body"], form["MessageSid"]
		if sid == "" {
			sid = form["SmsSid"]
		}
		if from == "" || sid == "" {
			return http.StatusBadRequest
		}
		var err error
		if IsOptOut(body) {
			err = sink.OptOut(r.Context(), from, body, sid)
		} else {
			err = sink.Reply(r.Context(), from, body, sid)
		}
		if err != nil {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
}

// webhook verifies the signature, then lets handle act on the form and
// pick the status code.
func webhook(v *twclient.RequestValidator, publicURL string, handle func(*http.Request, map[string]string) int) http.Handler {
	publicURL = strings.TrimRight(publicURL, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		// Twilio signs the POST parameters only; with repeated keys the
		// validator can check one value, so take the first.
		form := make(map[string]string, len(r.PostForm))
		for k, vals := range r.PostForm {
			form[k] = vals[0]
		}
		uri := r.RequestURI // the original target, untouched by StripPrefix
		if uri == "" {
			uri = r.URL.RequestURI()
		}
		sig := r.Header.Get("X-Twilio-Signature")
		if sig == "" || !v.Validate(publicURL+uri, form, sig) {
			http.Error(w, "invalid signature", http.StatusForbidden)
			return
		}
		code := handle(r, form)
		if code != http.StatusOK {
			http.Error(w, http.StatusText(code), code)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(emptyTwiML))
	})
}

// optOutKeywords are the keywords Twilio's default opt-out handling knows
// plus the French ARRET (CNIL guidance for French short codes), compared
// after normalization (see IsOptOut).
var optOutKeywords = map[string]bool{
	"STOP": true, "STOPALL": true, "ARRET": true, "UNSUBSCRIBE": true,
	"END": true, "QUIT": true, "CANCEL": true, "OPTOUT": true, "REVOKE": true,
}

// IsOptOut reports whether an inbound body is an opt-out keyword. The
// comparison ignores case, accents (ARRÊT = ARRET), surrounding spaces and
// punctuation ("Stop!"), and spaces inside ("STOP ALL" = STOPALL). Only the
// whole body counts: "stop sending me this" is a reply, not an opt-out,
// because carriers apply the same whole-message rule.
func IsOptOut(body string) bool {
	var b strings.Builder
	for _, r := range norm.NFD.String(body) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// drop combining accents
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			// separators and punctuation do not change the keyword
		default:
			b.WriteRune(r)
		}
	}
	return optOutKeywords[b.String()]
}
