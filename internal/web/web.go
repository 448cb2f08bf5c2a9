// Package web is the dashboard: a server-rendered campaigns list
// and campaign pages with SVG charts drawn in Go (funnel, hourly
// timeline, refusal reasons, cost and ROI), behind a login with an API
// key, and the asynq queue monitor (asynqmon) under /ui/queues. There is
// no JavaScript of ours and no front-end build step.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// KeyChecker reports whether key is a valid API key allowed to use the
// dashboard; an error means the check itself failed (the store is down)
// and the login answers 503 instead of "invalid key".
type KeyChecker func(ctx context.Context, key string) (ok bool, err error)

// Campaigns lists the live campaign versions (*catalog.Catalog is one).
type Campaigns interface {
	List() []*campaign.Spec
	Live(id string) *campaign.Spec
}

// Store is what the dashboard reads: the report aggregations and the
// runs. Both store backends implement it.
type Store interface {
	report.Source
	ListRuns(ctx context.Context, campaignID string, limit int) ([]store.Run, error)
}

// Deps configures the dashboard. Store, CheckKey and Secret are required.
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
	// Secret signs the session cookie (the key derived from it is
	// specific to dashboard sessions).
	Secret []byte
	// RedisConnOpt, when set, mounts asynqmon at /ui/queues.
	RedisConnOpt asynq.RedisConnOpt
	// SessionTTL is how long a login lasts. Default 12 h.
	SessionTTL time.Duration
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
	mon   *asynqmon.HTTPHandler
	key   []byte // session HMAC key
}

// New returns the dashboard handler. It connects to nothing: asynqmon's
// Redis client dials on first use. Missing required dependencies are an
// error.
func New(d Deps) (*Server, error) {
	if d.Store == nil || d.CheckKey == nil || len(d.Secret) == 0 {
		return nil, errors.New("web: Store, CheckKey and Secret are required")
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = 12 * time.Hour
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, mux: http.NewServeMux(), key: sessionKey(d.Secret)}
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
	s.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	if d.RedisConnOpt != nil {
		s.mon = asynqmon.New(asynqmon.Options{RootPath: "/ui/queues", RedisConnOpt: d.RedisConnOpt})
		s.mux.Handle("/ui/queues/", s.auth(s.mon))
		s.mux.Handle("/ui/queues", s.auth(s.mon))
	}
	return s, nil
}

// ServeHTTP implements http.Handler. Pages are not cached: they show live
// numbers and are personal to a session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

// Close releases asynqmon's Redis connections.
func (s *Server) Close() error {
	if s.mon != nil {
		return s.mon.Close()
	}
	return nil
}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "campaigns", "campaign"} {
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

func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.d.Log.Error("dashboard: "+what, "err", err)
	http.Error(w, "The dashboard could not read the database; see the server log.", http.StatusInternalServerError)
}
