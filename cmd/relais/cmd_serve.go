package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"
)

func (a *app) serveCmd() *cobra.Command {
	var roles string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: HTTP API and tracking, queue workers, scheduler",
		Long: `serve runs the roles given by --roles (default all): "api" (HTTP API,
tracking endpoints, webhooks, health), "worker" (asynq workers that send,
and the bounce mailbox poller), "scheduler" (cron schedules and follow-ups),
"feedback" (the bounce mailbox poller alone). Workers scale out on many
machines sharing one Redis and one database. SIGTERM stops intake, lets
in-flight sends finish (or requeues them after shutdown_timeout), then
closes senders and the database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			want := map[string]bool{}
			for _, r := range strings.Split(roles, ",") {
				r = strings.TrimSpace(r)
				switch r {
				case "api", "worker", "scheduler", "feedback":
					want[r] = true
				default:
					return userErrorf("--roles: unknown role %q (api, worker, scheduler, feedback)", r)
				}
			}
			d, err := a.open(ctx, need{queue: true, senders: want["worker"]})
			if err != nil {
				return err
			}
			defer d.close()
			if _, err := os.Stat(a.cfg.CampaignsDir); err != nil && !want["api"] && !want["scheduler"] {
				// A worker needs no checkout: versions come from the database.
				a.log.Info("no campaigns folder: campaign versions are loaded from the database", "dir", a.cfg.CampaignsDir)
			} else if errs := d.catalog.Reload(); len(errs) > 0 {
				for _, e := range errs {
					a.log.Error("campaign not loaded", "err", e)
				}
			}
			if want["worker"] {
				if err := a.checkDKIM(d.catalog.List()); err != nil {
					return err
				}
				if err := a.checkProviders(d.catalog.List()); err != nil {
					return err
				}
			}
			sch, err := a.scheduler(d)
			if err != nil {
				return err
			}
			var httpSrv, adminSrv *http.Server
			errc := make(chan error, 3)
			if want["api"] {
				ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
				if err != nil {
					return fmt.Errorf("listen %s: %w", a.cfg.HTTPAddr, err)
				}
				h, admin, closeHTTP, err := a.httpHandler(d, sch)
				if err != nil {
					ln.Close()
					return err
				}
				defer closeHTTP()
				httpSrv = a.httpServer(h)
				go func() { errc <- httpSrv.Serve(ln) }()
				a.log.Info("http listening", "addr", ln.Addr().String())
				if admin != nil {
					aln, err := net.Listen("tcp", a.cfg.AdminAddr)
					if err != nil {
						return fmt.Errorf("listen %s: %w", a.cfg.AdminAddr, err)
					}
					adminSrv = a.httpServer(admin)
					go func() { errc <- adminSrv.Serve(aln) }()
					a.log.Info("admin http listening", "addr", aln.Addr().String())
				}
			}
			if !want["api"] && a.cfg.OpsAddr != "" {
				ln, err := net.Listen("tcp", a.cfg.OpsAddr)
				if err != nil {
					return fmt.Errorf("listen %s (ops_addr): %w", a.cfg.OpsAddr, err)
				}
				mux := http.NewServeMux()
				mux.HandleFunc("/healthz", healthz)
				mux.Handle("/readyz", a.readyz(d))
				mux.Handle("/metrics", d.metrics.Handler())
				opsSrv := a.httpServer(mux)
				go func() { _ = opsSrv.Serve(ln) }()
				defer opsSrv.Close()
				a.log.Info("health and metrics listening", "addr", ln.Addr().String())
			}
			var srv *asynq.Server
			if want["worker"] {
				srv = a.asynqServer(d)
				mux := asynq.NewServeMux()
				w := a.worker(d)
				w.Register(mux)
				sch.Register(mux)
				// Paused channels are probed until their provider
				// accepts the account again; stopped before the store
				// closes.
				pctx, stopProbe := context.WithCancel(ctx)
				probed := make(chan struct{})
				go func() { defer close(probed); w.ProbeLoop(pctx, a.cfg.ChannelProbeInterval) }()
				defer func() { stopProbe(); <-probed }()
				mux.Use(sch.Followups().Middleware)
				if err := srv.Start(mux); err != nil {
					return fmt.Errorf("start workers: %w", err)
				}
				a.log.Info("workers started", "concurrency", a.cfg.Concurrency)
			}
			if want["scheduler"] {
				if err := sch.Start(ctx); err != nil {
					return fmt.Errorf("start scheduler: %w", err)
				}
				defer sch.Shutdown()
			}
			if want["worker"] || want["feedback"] {
				p, err := a.poller(d)
				if err != nil {
					return err
				}
				if p != nil {
					pctx, stopPoll := context.WithCancel(ctx)
					polled := make(chan struct{})
					go func() { defer close(polled); a.pollLoop(pctx, p) }()
					// Stop polling before the store closes.
					defer func() { stopPoll(); <-polled }()
					a.log.Info("bounce mailbox poller started", "every", a.cfg.BouncePollInterval.String())
				}
			}
			select {
			case <-ctx.Done():
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					a.log.Error("http server stopped", "err", err)
				}
			}
			a.log.Info("shutting down")
			// Stop intake first, then let in-flight sends finish.
			for _, hs := range []*http.Server{httpSrv, adminSrv} {
				if hs != nil {
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_ = hs.Shutdown(sctx)
					cancel()
				}
			}
			sch.Shutdown()
			if srv != nil {
				srv.Shutdown()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&roles, "roles", "api,worker,scheduler", "comma-separated roles to run: api, worker, scheduler, feedback")
	return cmd
}
