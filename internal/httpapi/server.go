// Package httpapi assembles every HTTP route of `relais serve`: the JSON
// API under /api/v1/ (bearer API keys with scopes, request size limits,
// idempotent transactional sends) and the handlers other packages provide
// (tracking, Twilio webhooks, dashboard, metrics, health), so the daemon
// has one place that says what it serves.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

// Campaigns finds the live version of a campaign (catalog.Catalog
// implements it); nil means unknown.
type Campaigns interface {
	Live(id string) *campaign.Spec
}

// Planner starts runs (run.Planner implements it).
type Planner interface {
	Start(ctx context.Context, sp *campaign.Spec, runKey string) (run.Result, error)
	StartOne(ctx context.Context, sp *campaign.Spec, c *contact.Contact, data map[string]any, runKey string) (run.Result, []store.LedgerRow, error)
	// CheckApproval is a *run.NotApprovedError when sp needs an approved
	// proof of its version (approval: required) and has none.
	CheckApproval(ctx context.Context, sp *campaign.Spec) error
}

// Exporter builds the access/portability export of a contact;
// the result is written as JSON.
type Exporter interface {
	ExportContact(ctx context.Context, contactID int64) (any, error)
}

// Forgetter erases a contact (PII removed, suppression kept). It
// reports false when the contact was erased already.
type Forgetter interface {
	ForgetContact(ctx context.Context, contactID int64) (bool, error)
}

// Defaults of Deps.
const (
	// DefaultMaxBody bounds a JSON request body; larger gets 413.
	DefaultMaxBody = 1 << 20
	// DefaultMaxImport bounds a contacts import body (CSV or JSONL).
	DefaultMaxImport = 64 << 20
	// DefaultRate and DefaultBurst are each API key's token bucket.
	DefaultRate  = 50
	DefaultBurst = 100
	// DefaultAttribution is the last-touch window of a conversion posted
	// by contact and campaign.
	DefaultAttribution = 30 * 24 * time.Hour
	// DefaultIdempotencyWait is how long a request waits for a concurrent
	// request with the same Idempotency-Key to finish before 409.
	DefaultIdempotencyWait = 10 * time.Second
	// DefaultIdempotencyLease is how long a claim on an Idempotency-Key
	// lasts before another request may take the work over (the owner is
	// presumed dead; the work is idempotent, so a takeover resumes it).
	DefaultIdempotencyLease = time.Minute
)

// Deps are what the server needs. Store, API and Campaigns are required
// for the API routes; a nil Planner makes the send and run routes answer
// 501. Nil handlers are not mounted.
type Deps struct {
	Store     store.Store
	API       store.APIStore
	Campaigns Campaigns
	Planner   Planner
	// Events records responses and conversions; nil: Store when it
	// implements store.EventStore, else POST /api/v1/events answers 501.
	Events store.EventStore
	// Signer verifies tracking tokens of POST /api/v1/events; nil: events
	// by token answer 501.
	Signer *tracking.Signer
	// Exporter and Forgetter serve GET …/export and DELETE
	// /api/v1/contacts/{ref}; nil: 501.
	Exporter  Exporter
	Forgetter Forgetter
	// Channels say which address a channel needs and which consent
	// records exist; nil: the built-in channels.
	Channels *channel.Registry

	// Mounted handlers, outside the API's authentication.
	Tracking      http.Handler // /o/ /c/ /u/ /v/ /r/
	TwilioStatus  http.Handler // /webhooks/twilio/status
	TwilioInbound http.Handler // /webhooks/twilio/inbound
	Media         http.Handler // /media/ (MMS media served by relais)
	Dashboard     http.Handler // /ui/
	Metrics       http.Handler // /metrics
	// MetricsScopes, when set, puts /metrics behind an API key holding
	// one of these scopes (for a public listener).
	MetricsScopes []string
	Healthz       http.Handler // /healthz
	Readyz        http.Handler // /readyz

	// Limits; zero values take the defaults above.
	MaxBody          int64
	MaxImport        int64
	Rate             rate.Limit
	Burst            int
	Attribution      time.Duration
	IdempotencyWait  time.Duration
	IdempotencyLease time.Duration
	Log              *slog.Logger     // default slog.Default()
	Now              func() time.Time // default time.Now
}

// Server is the HTTP handler of `relais serve`. Runs started through the
// API expand in the background; Wait lets shutdown wait for them.
type Server struct {
	d   Deps
	mux *http.ServeMux

	limMu    sync.Mutex
	limiters map[string]*rate.Limiter

	bg sync.WaitGroup
}

// Route is one API route, as registered on the mux (and described in
// docs/openapi.yaml).
type Route struct {
	Method string
	Path   string // with {param} placeholders
	Scope  string // API key scope required
}

// NewServer returns the handler serving every route of `relais serve`.
func NewServer(d Deps) *Server {
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.Channels == nil {
		d.Channels = builtin.Channels()
	}
	if d.MaxImport <= 0 {
		d.MaxImport = DefaultMaxImport
	}
	if d.Rate <= 0 {
		d.Rate = DefaultRate
	}
	if d.Burst <= 0 {
		d.Burst = DefaultBurst
	}
	if d.Attribution <= 0 {
		d.Attribution = DefaultAttribution
	}
	if d.IdempotencyWait <= 0 {
		d.IdempotencyWait = DefaultIdempotencyWait
	}
	if d.IdempotencyLease <= 0 {
		d.IdempotencyLease = DefaultIdempotencyLease
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Events == nil {
		if es, ok := d.Store.(store.EventStore); ok {
			d.Events = es
		}
	}
	s := &Server{d: d, mux: http.NewServeMux(), limiters: map[string]*rate.Limiter{}}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Path, s.auth(rt.Scope, rt.h))
	}
	// Anything else under /api/ is a JSON 404, not the mux's text page.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, errNotFound("route", "no such API route"))
	})
	mount := func(pattern string, h http.Handler) {
		if h != nil {
			s.mux.Handle(pattern, h)
		}
	}
	for _, p := range []string{"/o/", "/c/", "/u/", "/v/", "/r/"} {
		mount(p, d.Tracking)
	}
	mount("/webhooks/twilio/status", d.TwilioStatus)
	mount("/webhooks/twilio/inbound", d.TwilioInbound)
	mount("GET /media/", d.Media)
	mount("/ui/", d.Dashboard)
	if d.Metrics != nil && len(d.MetricsScopes) > 0 {
		d.Metrics = s.auth(d.MetricsScopes[0], d.Metrics.ServeHTTP, d.MetricsScopes[1:]...)
	}
	mount("/metrics", d.Metrics)
	mount("/healthz", d.Healthz)
	mount("/readyz", d.Readyz)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Wait blocks until the run expansions started through the API are done
// or ctx ends, for a graceful shutdown.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type route struct {
	Route
	h http.HandlerFunc
}

// routes is the one table of API routes.
func (s *Server) routes() []route {
	return []route{
		{Route{"POST", "/api/v1/campaigns/{id}/send", "send"}, s.send},
		{Route{"POST", "/api/v1/campaigns/{id}/runs", "runs"}, s.startRun},
		{Route{"GET", "/api/v1/runs/{id}", "runs"}, s.getRun},
		{Route{"POST", "/api/v1/runs/{id}/pause", "runs"}, s.controlRun("pause")},
		{Route{"POST", "/api/v1/runs/{id}/resume", "runs"}, s.controlRun("resume")},
		{Route{"POST", "/api/v1/runs/{id}/cancel", "admin"}, s.controlRun("cancel")},
		{Route{"PUT", "/api/v1/contacts/{ref}", "contacts"}, s.putContact},
		{Route{"POST", "/api/v1/contacts/import", "contacts"}, s.importContacts},
		{Route{"GET", "/api/v1/contacts/{ref}/export", "contacts"}, s.exportContact},
		{Route{"DELETE", "/api/v1/contacts/{ref}", "contacts"}, s.forgetContact},
		{Route{"PUT", "/api/v1/contacts/{ref}/consent", "contacts"}, s.putConsent},
		{Route{"POST", "/api/v1/events", "events"}, s.postEvent},
	}
}

// Routes lists the API routes the server registers (for the OpenAPI
// document's test and for documentation).
func Routes() []Route {
	var s Server
	rs := s.routes()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	return out
}
