package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/store"
)

// apikeyCmd manages the HTTP API's bearer keys. A key is printed once at
// creation; the database keeps only its SHA-256.
func (a *app) apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Manage HTTP API keys (create, list, revoke)",
	}
	var scopes string
	create := &cobra.Command{
		Use:   "create NAME --scope send,runs,contacts,events,reports,admin",
		Short: "Create an API key and print it once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := apikey.ParseScopes(scopes)
			if err != nil {
				return userErr(fmt.Errorf("--scope: %w", err))
			}
			as, closeFn, err := a.apiStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			var key string
			for range 3 { // a 48-bit id collision is rare; retry it
				var rec store.APIKey
				if key, rec, err = apikey.New(args[0], sc, time.Now()); err != nil {
					return err
				}
				if err = as.CreateAPIKey(cmd.Context(), rec); !errors.Is(err, store.ErrAPIKeyExists) {
					break
				}
			}
			if err != nil {
				return fmt.Errorf("store api key: %w", err)
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]string{"key": key})
			}
			fmt.Fprintln(a.stdout, key)
			fmt.Fprintln(a.stderr, "Store this key now: it is not shown again.")
			return nil
		},
	}
	create.Flags().StringVar(&scopes, "scope", "", "comma-separated scopes: "+strings.Join(apikey.AllScopes, ", "))
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (ids, names, scopes; never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as, closeFn, err := a.apiStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			keys, err := as.ListAPIKeys(cmd.Context())
			if err != nil {
				return err
			}
			type row struct {
				ID        string     `json:"id"`
				Name      string     `json:"name"`
				Scopes    []string   `json:"scopes"`
				CreatedAt time.Time  `json:"created_at"`
				RevokedAt *time.Time `json:"revoked_at,omitempty"`
			}
			rows := make([]row, len(keys))
			for i, k := range keys {
				rows[i] = row{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt}
				if !k.RevokedAt.IsZero() {
					rows[i].RevokedAt = &keys[i].RevokedAt
				}
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(rows)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
			for _, r := range rows {
				rev := "-"
				if r.RevokedAt != nil {
					rev = r.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, strings.Join(r.Scopes, ","), r.CreatedAt.Format(time.RFC3339), rev)
			}
			return w.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key (by the id shown by list, or the key itself)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if kid, ok := apikey.ID(id); ok {
				id = kid
			}
			as, closeFn, err := a.apiStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := as.RevokeAPIKey(cmd.Context(), id, time.Now()); errors.Is(err, store.ErrNotFound) {
				return userErrorf("no API key with id %q", id)
			} else if err != nil {
				return err
			}
			// Its dashboard sessions end now, in every process (each
			// request re-reads its session and key from the database).
			n, err := as.DeleteKeySessions(cmd.Context(), id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"revoked": id, "sessions_ended": n})
			}
			fmt.Fprintf(a.stdout, "revoked %s (%d dashboard session(s) ended)\n", id, n)
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// apiStore opens the store for the apikey commands.
func (a *app) apiStore(cmd *cobra.Command) (store.Store, func(), error) {
	d, err := a.open(cmd.Context(), need{})
	if err != nil {
		return nil, nil, err
	}
	return d.store, d.close, nil
}
