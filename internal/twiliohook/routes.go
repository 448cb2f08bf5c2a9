package twiliohook

import (
	"net/http"

	"github.com/relais-dev/relais/internal/channel/twilio"
)

// Paths of the Twilio webhooks. StatusPath is also the StatusCallback the
// sms senders give Twilio (public URL + StatusPath); InboundPath is the URL
// to set as the Twilio number's (or Messaging Service's) incoming-message
// webhook.
const (
	StatusPath  = "/webhooks/twilio/status"
	InboundPath = "/webhooks/twilio/inbound"
)

// Routes returns a handler serving POST StatusPath and POST InboundPath
// with sink, their signatures checked with authToken against publicURL (the
// scheme and host Twilio calls, as configured in RELAIS_PUBLIC_URL), and,
// when media is not nil, GET MediaPath{token} with it (MediaHandler). Any
// other path is 404. Mount it at the root of the public server, or on a
// mux with these same patterns: the signature covers the request's
// original path, so the handler must see the path Twilio called.
func Routes(authToken, publicURL string, sink *Sink, media http.Handler) http.Handler {
	v := twilio.NewValidator(authToken)
	mux := http.NewServeMux()
	mux.Handle(StatusPath, twilio.StatusHandler(v, publicURL, sink))
	mux.Handle(InboundPath, twilio.InboundHandler(v, publicURL, sink))
	if media != nil {
		mux.Handle("GET "+MediaPath+"{token}", media)
	}
	return mux
}
