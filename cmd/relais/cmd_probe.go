package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// probeCmd checks a running daemon's /readyz, for container health checks
// in images that have no shell or HTTP client (distroless).
func (a *app) probeCmd() *cobra.Command {
	var path string
	var ops bool
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Exit 0 when the daemon on http_addr answers its readiness check",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr := a.cfg.HTTPAddr
			if ops {
				addr = a.cfg.OpsAddr
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return userErr(fmt.Errorf("address %q: %w", addr, err))
			}
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", path, resp.Status)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&ops, "ops", false, "probe ops_addr (a worker's health listener) instead of http_addr")
	cmd.Flags().StringVar(&path, "path", "/readyz", "path to check: /readyz (database and Redis) or /healthz (process)")
	return cmd
}
