package tracking

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// Deps are what the tracking handlers need. Signer is required; a nil
// Events drops events, a nil Unsubscriber makes POST /u answer "try again",
// a nil Viewer makes /v answer "unavailable", a nil Responses makes /r
// redirect without recording.
type Deps struct {
	Signer       *Signer
	Events       *Batcher
	Unsubscriber Unsubscriber
	Viewer       Viewer
	Responses    ResponseSink
	// LandingURL is where /r/<code> redirects; "{code}" in it is replaced
	// by the canonical response code. Default "": a thank-you page.
	LandingURL string
	// MachineWindow: opens and clicks sooner than this after the token was
	// issued are flagged as machine. Default DefaultMachineWindow; negative
	// disables the timing rule.
	MachineWindow time.Duration
	// Log receives handler failures (ledger ids, never PII). Default
	// slog.Default().
	Log *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// pixelGIF is a transparent 1×1 GIF89a (43 bytes).
var pixelGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0,
	0, 0, 0, 0xff, 0xff, 0xff,
	0x21, 0xf9, 4, 1, 0, 0, 0, 0,
	0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0,
	2, 2, 0x44, 1, 0, 0x3b,
}

// Header values shared by every pixel response (never mutated), so the
// hot path allocates no header slices.
var (
	hdrGIF      = []string{"image/gif"}
	hdrNoStore  = []string{"no-store, no-cache, must-revalidate, private"}
	hdrNoCache  = []string{"no-cache"}
	hdrExpires  = []string{"0"}
	hdrGIFLen   = []string{"43"}
	hdrNoRefer  = []string{"no-referrer"}
	hdrNoSniff  = []string{"nosniff"}
	hdrTextHTML = []string{"text/html; charset=utf-8"}
	// hdrViewCSP lets a message shown in the browser load its images and
	// styles but run nothing, submit nothing and not be framed.
	hdrViewCSP = []string{"default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline' https:; font-src https: data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"}
)

type handler struct {
	d   Deps
	mux *http.ServeMux
}

// NewHandler returns the public tracking endpoints (paths relative to the
// public URL): GET /o/{token} open pixel, GET /c/{token} click redirect,
// GET and POST /u/{token} unsubscribe (also the RFC 8058 one-click
// target), GET /v/{token} view in browser, GET /r/{code} personal URL.
// They never fail the recipient: the pixel
// is always a GIF and every page answers something readable.
func NewHandler(d Deps) http.Handler {
	if d.MachineWindow == 0 {
		d.MachineWindow = DefaultMachineWindow
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &handler{d: d, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /o/{token}", h.open)
	h.mux.HandleFunc("GET /c/{token}", h.click)
	h.mux.HandleFunc("GET /u/{token}", h.unsubscribePage)
	h.mux.HandleFunc("POST /u/{token}", h.unsubscribe)
	h.mux.HandleFunc("GET /v/{token}", h.view)
	h.mux.HandleFunc("GET /r/{code}", h.respond)
	return h.mux
}

func (h *handler) record(e Event) {
	if h.d.Events != nil {
		h.d.Events.Add(e)
	}
}

func (h *handler) machine(r *http.Request, c Claims, now time.Time) bool {
	return r.Method == http.MethodHead || isMachine(r.Header.Get("User-Agent"), c.IssuedAt, now, h.d.MachineWindow)
}

// open always answers the GIF; only a valid open token records an event.
func (h *handler) open(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd["Content-Type"] = hdrGIF
	hd["Content-Length"] = hdrGIFLen
	hd["Cache-Control"] = hdrNoStore
	hd["Pragma"] = hdrNoCache
	hd["Expires"] = hdrExpires
	hd["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(pixelGIF)
	}
	c, err := h.d.Signer.VerifyFor(strings.TrimSuffix(r.PathValue("token"), ".gif"), PurposeOpen)
	if err != nil {
		return
	}
	now := h.d.Now()
	h.record(Event{LedgerID: c.LedgerID, Type: EventOpened, Machine: h.machine(r, c, now), At: now})
}

// click redirects only to the URL signed inside the token: anything else
// is a 400, never a redirect (no open redirect).
func (h *handler) click(w http.ResponseWriter, r *http.Request) {
	c, err := h.d.Signer.VerifyFor(r.PathValue("token"), PurposeClick)
	if err == nil && !isHTTP(c.URL) {
		err = errors.New("tracking: click URL is not http(s)")
	}
	if err == nil {
		if _, perr := url.Parse(c.URL); perr != nil {
			err = perr
		}
	}
	if err != nil {
		t := textFor(r)
		page(w, http.StatusBadRequest, pageData{T: t, Title: t.InvalidTitle, Body: t.InvalidBody})
		return
	}
	now := h.d.Now()
	h.record(Event{LedgerID: c.LedgerID, Type: EventClicked, Machine: h.machine(r, c, now), URL: c.URL, At: now})
	w.Header()["Referrer-Policy"] = hdrNoRefer
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, c.URL, http.StatusFound)
}

// unsubStatus maps a token error to the status of the friendly page.
func unsubStatus(err error) int {
	if errors.Is(err, ErrMalformed) {
		return http.StatusBadRequest
	}
	return http.StatusNotFound
}

// unsubscribePage shows the confirmation form; a GET changes nothing, so
// link scanners that prefetch the link unsubscribe nobody.
func (h *handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	t := textFor(r)
	if _, err := h.d.Signer.VerifyFor(r.PathValue("token"), PurposeUnsubscribe); err != nil {
		page(w, unsubStatus(err), pageData{T: t, Title: t.InvalidTitle, Body: t.InvalidBody})
		return
	}
	page(w, http.StatusOK, pageData{T: t, Title: t.ConfirmTitle, Body: t.ConfirmBody, Form: true})
}

// maxFormBody bounds the unsubscribe POST body (the one-click body is 26
// bytes; the form posts nothing).
const maxFormBody = 16 << 10

// unsubscribe acts: the confirmation form's POST, or an RFC 8058
// one-click POST (body List-Unsubscribe=One-Click) sent by the mailbox
// provider, which gets the same 200.
func (h *handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	t := textFor(r)
	c, err := h.d.Signer.VerifyFor(r.PathValue("token"), PurposeUnsubscribe)
	if err != nil {
		page(w, unsubStatus(err), pageData{T: t, Title: t.InvalidTitle, Body: t.InvalidBody})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	source := "page"
	if err := r.ParseMultipartForm(maxFormBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.d.Log.Debug("unsubscribe: unreadable form body", "ledger", c.LedgerID, "err", err)
	}
	if r.PostFormValue("List-Unsubscribe") == "One-Click" {
		source = "one-click"
	}
	if h.d.Unsubscriber == nil {
		err = errors.New("tracking: no unsubscriber configured")
	} else {
		// The opt-out must not be lost to a client hanging up mid-request.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		err = h.d.Unsubscriber.Unsubscribe(ctx, c, source)
		cancel()
	}
	if err != nil {
		h.d.Log.Error("unsubscribe failed", "ledger", c.LedgerID, "campaign", c.Campaign, "source", source, "err", err)
		page(w, http.StatusServiceUnavailable, pageData{T: t, Title: t.FailedTitle, Body: t.FailedBody})
		return
	}
	h.record(Event{LedgerID: c.LedgerID, Type: EventUnsubscribed, At: h.d.Now()})
	page(w, http.StatusOK, pageData{T: t, Title: t.DoneTitle, Body: t.DoneBody})
}

// view shows the message as sent, re-rendered by the Viewer.
func (h *handler) view(w http.ResponseWriter, r *http.Request) {
	t := textFor(r)
	c, err := h.d.Signer.VerifyFor(r.PathValue("token"), PurposeView)
	if err != nil {
		page(w, unsubStatus(err), pageData{T: t, Title: t.InvalidTitle, Body: t.InvalidBody})
		return
	}
	if h.d.Viewer == nil {
		page(w, http.StatusNotFound, pageData{T: t, Title: t.ViewMissingTitle, Body: t.ViewMissingBody})
		return
	}
	body, err := h.d.Viewer.View(r.Context(), c.LedgerID)
	if err != nil {
		status := http.StatusNotFound
		if !errors.Is(err, store.ErrNotFound) {
			status = http.StatusServiceUnavailable
			h.d.Log.Error("view in browser failed", "ledger", c.LedgerID, "err", err)
		}
		page(w, status, pageData{T: t, Title: t.ViewMissingTitle, Body: t.ViewMissingBody})
		return
	}
	now := h.d.Now()
	h.record(Event{LedgerID: c.LedgerID, Type: EventViewed, Machine: h.machine(r, c, now), At: now})
	hd := w.Header()
	hd["Content-Type"] = hdrTextHTML
	hd["Referrer-Policy"] = hdrNoRefer
	hd["X-Content-Type-Options"] = hdrNoSniff
	hd["Content-Security-Policy"] = hdrViewCSP
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Robots-Tag", "noindex")
	_, _ = w.Write([]byte(body))
}

// respond records a personal-URL visit and redirects to the landing page.
// An unknown or malformed code still lands the visitor there (nothing is
// recorded): a person typing a code from paper must never hit an error.
func (h *handler) respond(w http.ResponseWriter, r *http.Request) {
	code, ok := NormalizeCode(r.PathValue("code"))
	if ok && h.d.Responses != nil && r.Method != http.MethodHead {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		_, err := h.d.Responses.Respond(ctx, code, h.d.Now())
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.d.Log.Error("personal URL response not recorded", "err", err)
		}
	}
	if h.d.LandingURL == "" {
		t := textFor(r)
		page(w, http.StatusOK, pageData{T: t, Title: t.ThanksTitle, Body: t.ThanksBody})
		return
	}
	dest := h.d.LandingURL
	if ok {
		dest = strings.ReplaceAll(dest, "{code}", url.QueryEscape(code))
	} else {
		dest = strings.ReplaceAll(dest, "{code}", "")
	}
	w.Header()["Referrer-Policy"] = hdrNoRefer
	http.Redirect(w, r, dest, http.StatusFound)
}
