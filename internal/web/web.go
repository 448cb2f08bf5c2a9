// Package web is the dashboard: a server-rendered campaigns list,
// campaign pages with SVG charts drawn in Go (funnel, hourly timeline,
// refusal reasons, cost and ROI) and run pages with pause, resume and
// cancel controls, behind a login with an API key (sessions stored in the
// database, CSRF tokens on every POST), and the asynq queue monitor
// (asynqmon) under /ui/queues. There is no JavaScript of ours and no
// front-end build step.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// KeyChecker reports whether key is a valid API key allowed to use the
// dashboard, and whom it identifies; an error means the check itself
// failed (the store is down) and the login answers 503 instead of
// "invalid key".
type KeyChecker func(ctx context.Context, key string) (id Identity, ok bool, err error)

// KeyLookup re-checks, on every request of a session, that the key with
// this id is still valid and allowed to use the dashboard, so revoking a
// key (or removing its scope) ends its sessions at once.
type KeyLookup func(ctx context.Context, keyID string) (id Identity, ok bool, err error)

// Campaigns lists the live campaign versions (*catalog.Catalog is one).
type Campaigns interface {
	List() []*campaign.Spec
	Live(id string) *campaign.Spec
}

// Store is what the dashboard reads and writes: the report aggregations,
// the runs, their held sends and their controls (pause, resume, cancel),
// and the sessions.
// Both store backends implement it.
type Store interface {
	report.Source
	held.Reader
	held.Reader
	ListRuns(ctx context.Context, campaignID string, limit int) ([]store.Run, error)
	GetRun(ctx context.Context, id int64) (store.Run, error)
	CountLedger(ctx context.Context, runID int64) (map[string]int, error)
	PauseRun(ctx context.Context, id int64, at time.Time) (bool, error)
	ResumeRun(ctx context.Context, id int64) (bool, error)
	CancelRun(ctx context.Context, id int64, reason string, at time.Time) (int, error)
	store.SessionStore
}

// Deps configures the dashboard. Store, CheckKey, LookupKey and Secret are
// required.
type Deps struct {
	Store Store
	// Catalog gives names, live versions and costs; nil shows campaigns
	// from their runs only, without costs.
	Catalog Campaigns
	// GitCommit, when set, returns the commit of the campaigns folder's
	// git checkout ("" outside one), shown with the live versions.
	GitCommit func() string
	// RunCommit, when set, returns the git commit that introduced a
	// campaign version (content hash), shown with each run so an audit
	// sees exactly what was sent; "" when unknown.
	RunCommit func(ctx context.Context, campaignID, contentHash string) string
	// CheckKey verifies the API key typed in the login form.
	CheckKey KeyChecker
	// LookupKey re-checks a session's key on each request and gives its
	// current scopes.
	LookupKey KeyLookup
	// Secret is the deployment secret, from which each session's CSRF
	// token is derived.
	Secret []byte
	// PausedChannels lists the channels paused because their provider
	// refused the account; each shows as a banner on every page. Nil: no
	// banner.
	PausedChannels func(ctx context.Context) ([]store.ChannelPause, error)
	// RedisConnOpt, when set, mounts asynqmon at /ui/queues.
	RedisConnOpt asynq.RedisConnOpt
	// SessionTTL is the absolute lifetime of a session. Default 12 h.
	SessionTTL time.Duration
	// SessionIdle ends a session without a request for this long.
	// Default 30 min.
	SessionIdle time.Duration
	// SecureCookie sets the cookie's Secure flag: set it when the
	// dashboard is served over HTTPS (RELAIS_PUBLIC_URL https://…).
	SecureCookie bool
	// Log receives server-side failures (no PII). Default slog.Default().
	Log *slog.Logger
	// Now is the clock of sessions. Default time.Now.
	Now func() time.Time
}

// Server is the dashboard's http.Handler; it serves paths under /ui/.
type Server struct {
	d     Deps
	mux   *http.ServeMux
	pages map[string]*template.Template
	mon   *asynqmon.HTTPHandler // read-only
	monRW *asynqmon.HTTPHandler // for admin sessions

	loginLimit loginLimiter
}

// New returns the dashboard handler. It connects to nothing: asynqmon's
// Redis client dials on first use. Missing required dependencies are an
// error.
func New(d Deps) (*Server, error) {
	if d.Store == nil || d.CheckKey == nil || d.LookupKey == nil || len(d.Secret) == 0 {
		return nil, errors.New("web: Store, CheckKey, LookupKey and Secret are required")
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = 12 * time.Hour
	}
	if d.SessionIdle <= 0 {
		d.SessionIdle = 30 * time.Minute
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, mux: http.NewServeMux()}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /ui/login", s.loginForm)
	s.mux.HandleFunc("POST /ui/login", s.login)
	s.mux.HandleFunc("POST /ui/logout", s.logout)
	s.mux.Handle("GET /ui/{$}", s.auth(http.HandlerFunc(s.campaigns)))
	s.mux.Handle("GET /ui/campaigns/{id}", s.auth(http.HandlerFunc(s.campaign)))
	s.mux.Handle("GET /ui/runs/{id}", s.auth(http.HandlerFunc(s.run)))
	s.mux.Handle("GET /ui/runs/{id}/{action}", s.auth(http.HandlerFunc(s.confirmAction)))
	s.mux.Handle("POST /ui/runs/{id}/{action}", s.auth(http.HandlerFunc(s.runAction)))
	s.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	if d.RedisConnOpt != nil {
		s.mon = asynqmon.New(asynqmon.Options{RootPath: "/ui/queues", RedisConnOpt: d.RedisConnOpt, ReadOnly: true})
		s.monRW = asynqmon.New(asynqmon.Options{RootPath: "/ui/queues", RedisConnOpt: d.RedisConnOpt})
		s.mux.Handle("/ui/queues/", s.auth(http.HandlerFunc(s.queues)))
		s.mux.Handle("/ui/queues", s.auth(http.HandlerFunc(s.queues)))
	}
	return s, nil
}

// ContentSecurityPolicy is sent with every dashboard page: no script, no
// framing, forms only back to the dashboard, styles and images from itself.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP implements http.Handler. Pages are not cached: they show live
// numbers and are personal to a session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/ui/queues") {
		// Our pages carry no script; asynqmon's single-page app sets its own.
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	}
	s.mux.ServeHTTP(w, r)
}

// Close releases asynqmon's Redis connections.
func (s *Server) Close() error {
	if s.mon != nil {
		return errors.Join(s.mon.Close(), s.monRW.Close())
	}
	return nil
}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "campaigns", "campaign", "run", "confirm"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/charts.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page; a template error after the header is sent can
// only be logged.
func (s *Server) render(w http.ResponseWriter, status int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.pages[page].Execute(w, data); err != nil {
		s.d.Log.Error("dashboard: render page", "page", page, "err", err)
	}
}

// paused returns the paused channels for the banner; a failure to read
// them is logged and shows no banner rather than no page.
func (s *Server) paused(r *http.Request) []store.ChannelPause {
	if s.d.PausedChannels == nil {
		return nil
	}
	ps, err := s.d.PausedChannels(r.Context())
	if err != nil {
		s.d.Log.Error("dashboard: paused channels", "err", err)
		return nil
	}
	return ps
}

func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.d.Log.Error("dashboard: "+what, "err", err)
	http.Error(w, "The dashboard could not read the database; see the server log.", http.StatusInternalServerError)
}
