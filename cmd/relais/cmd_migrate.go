package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// migrateCmd applies the database migrations and says what it did, for
// an upgrade step run once before the new version's processes start (a
// Kubernetes Job, a deploy script). Every command migrates on start too,
// under a lock, so this is an explicit step, not a required one.
func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations and print the schema version",
		Long: `migrate brings the database schema to the newest version this relais
knows and prints the versions before and after. Processes starting together
migrate once (PostgreSQL advisory lock). A database migrated by a newer
relais is refused by every command, naming both versions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dbURL := a.databaseURL()
			if strings.HasPrefix(dbURL, "sqlite:") {
				if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
					return err
				}
			}
			st, err := storeopen.Open(cmd.Context(), dbURL)
			if err != nil {
				return fmt.Errorf("database: %w", err)
			}
			defer st.Close()
			var sc sqlstore.Schema
			if s, ok := st.(interface{ Schema() sqlstore.Schema }); ok {
				sc = s.Schema()
			}
			if sc.Applied == nil {
				sc.Applied = []int64{}
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(sc)
			}
			if len(sc.Applied) == 0 {
				fmt.Fprintf(a.stdout, "database schema is up to date (version %d)\n", sc.Version)
				return nil
			}
			fmt.Fprintf(a.stdout, "database schema migrated from version %d to %d (%d migrations applied)\n", sc.Before, sc.Version, len(sc.Applied))
			return nil
		},
	}
}

// databaseURL is the configured database URL with the connection pool
// bound of database_max_conns applied to a PostgreSQL URL that does not
// set pool_max_conns itself.
func (a *app) databaseURL() string {
	u := a.cfg.DatabaseURL
	if a.cfg.DatabaseMaxConns <= 0 || strings.Contains(u, "pool_max_conns") {
		return u
	}
	kind, _, err := storeopen.Parse(u)
	if err != nil || kind != "postgres" {
		return u
	}
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	q.Set("pool_max_conns", strconv.Itoa(a.cfg.DatabaseMaxConns))
	p.RawQuery = q.Encode()
	return p.String()
}
