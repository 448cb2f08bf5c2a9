package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/audit"
	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/events"
	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/scheduler"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
	"github.com/relais-dev/relais/internal/twiliohook"
	"github.com/relais-dev/relais/internal/web"
)

// httpServer wraps h with every timeout: a slow or idle client cannot
// hold a connection (and its goroutine) for ever.
func (a *app) httpServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: a.cfg.HTTPReadTimeout,
		WriteTimeout: a.cfg.HTTPWriteTimeout, IdleTimeout: a.cfg.HTTPIdleTimeout, MaxHeaderBytes: 64 << 10}
}

// httpHandler assembles the api role's HTTP server: the JSON API, tracking
// endpoints, Twilio webhooks and MMS media, the dashboard, /metrics and
// health. With admin_addr set, the dashboard and /metrics move to a second
// handler, admin, for that listener (nil otherwise); on the public
// listener /metrics then needs an API key. The returned function flushes
// pending events and closes the dashboard after the servers stopped.
func (a *app) httpHandler(d *deps, sch *scheduler.Scheduler) (public, admin http.Handler, closeAll func(), err error) {
	m := d.metrics
	bat := tracking.NewBatcher(events.NewSink(d.store), 0, 0)
	if err := m.Register(bat.Collectors()...); err != nil {
		return nil, nil, nil, err
	}
	insp := asynq.NewInspector(d.redisOpt)
	if err := m.WatchQueues(insp, queue.Transactional, queue.Marketing, queue.Maintenance); err != nil {
		return nil, nil, nil, err
	}
	track := tracking.NewHandler(tracking.Deps{Signer: d.signer, Events: bat, Unsubscriber: d.feedback,
		Viewer: d.feedback, Responses: d.feedback, LandingURL: a.cfg.LandingURL, Log: a.log})
	dash, err := web.New(web.Deps{Store: d.store, Catalog: d.catalog, GitCommit: func() string { return scheduler.GitCommit(a.cfg.CampaignsDir) },
		RunCommit: (&audit.Locator{Dir: a.cfg.CampaignsDir, Versions: d.store}).Commit, CheckKey: keyChecker(d.store, apikey.ScopeReports),
		LookupKey: keyLookup(d.store, apikey.ScopeReports), PausedChannels: d.store.ChannelPauses, Secret: d.secret, RedisConnOpt: d.redisOpt, SecureCookie: strings.HasPrefix(a.cfg.PublicURL, "https://"),
		SessionTTL: a.cfg.SessionMaxAge, SessionIdle: a.cfg.SessionIdleTimeout, Log: a.log})
	if err != nil {
		return nil, nil, nil, err
	}
	requeuer := a.planner(d)
	requeuer.Tasks = queue.InspectorReviver{Inspector: insp}
	deps := httpapi.Deps{Channels: d.channels, Store: d.store, API: d.store, Campaigns: d.catalog, Planner: a.planner(d), Requeuer: requeuer, Events: d.store,
		Signer: d.signer, Tracking: track, Dashboard: dash, Metrics: m.Handler(),
		Exporter:  httpapi.StoreRights{Store: d.store, Rights: d.store, Secret: d.secret, Channels: d.channels},
		Forgetter: httpapi.StoreRights{Store: d.store, Rights: d.store, Secret: d.secret, Channels: d.channels},
		Healthz:   http.HandlerFunc(healthz), Readyz: a.readyz(d), Log: a.log}
	if a.cfg.TwilioAuthToken != "" {
		hooks := twiliohook.Routes(a.cfg.TwilioAuthToken, a.cfg.PublicURL, twiliohook.New(d.store, d.secret, a.log), nil)
		deps.TwilioStatus, deps.TwilioInbound = hooks, hooks
	}
	deps.Media = twiliohook.MediaHandler(d.secret, d.catalog)
	if sch != nil {
		live := sch.Live().Handler()
		mux := http.NewServeMux()
		mux.Handle("GET /ui/live", dash.RequireLogin(live))
		mux.Handle("/", dash)
		deps.Dashboard = mux
	}
	if a.cfg.AdminAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/ui/", deps.Dashboard)
		mux.Handle("/metrics", deps.Metrics)
		mux.Handle("/healthz", deps.Healthz)
		admin = mux
		deps.Dashboard, deps.Metrics = nil, nil
	} else {
		deps.MetricsScopes = []string{apikey.ScopeMetrics, apikey.ScopeReports}
	}
	var srv http.Handler = httpapi.NewServer(deps)
	emailHooks, err := a.emailHooks(d)
	if err != nil {
		return nil, nil, nil, err
	}
	if emailHooks != nil {
		mux := http.NewServeMux()
		mux.Handle(bounce.HookPrefix, emailHooks.Routes())
		mux.Handle("/", srv)
		srv = mux
	}
	closeAll = func() {
		_ = bat.Close()
		dash.Close()
		_ = insp.Close()
	}
	return srv, admin, closeAll, nil
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when the database and the queue answer.
func (a *app) readyz(d *deps) http.Handler {
	rdb := queue.Client(d.redisOpt) // lives as long as the process
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := d.store.ListRuns(ctx, "", 1); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}

// keyChecker verifies a dashboard login: a valid, unrevoked API key with
// scope (or admin).
func keyChecker(st store.Store, scope string) web.KeyChecker {
	return func(ctx context.Context, key string) (web.Identity, bool, error) {
		id, ok := apikey.ID(key)
		if !ok {
			return web.Identity{}, false, nil
		}
		k, err := st.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return web.Identity{}, false, nil
		}
		if err != nil {
			return web.Identity{}, false, err
		}
		if !apikey.Verify(key, k) || !apikey.Allows(k, scope) {
			return web.Identity{}, false, nil
		}
		return web.Identity{KeyID: k.ID, Name: k.Name, Scopes: k.Scopes}, true, nil
	}
}

// keyLookup re-checks a dashboard session's key on each request: revoked
// or stripped of scope, the session ends.
func keyLookup(st store.Store, scope string) web.KeyLookup {
	return func(ctx context.Context, id string) (web.Identity, bool, error) {
		k, err := st.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return web.Identity{}, false, nil
		}
		if err != nil {
			return web.Identity{}, false, err
		}
		if !k.RevokedAt.IsZero() || !apikey.Allows(k, scope) {
			return web.Identity{}, false, nil
		}
		return web.Identity{KeyID: k.ID, Name: k.Name, Scopes: k.Scopes}, true, nil
	}
}
