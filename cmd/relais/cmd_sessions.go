package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/store"
)

// sessionIDShown is how many characters of a session id are listed; any
// unique prefix names a session to revoke.
const sessionIDShown = 12

// sessionRow is one open dashboard session as listed.
type sessionRow struct {
	ID        string    `json:"id"` // the id's first characters
	KeyID     string    `json:"key_id"`
	KeyName   string    `json:"key_name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen_at"`
	ExpiresAt time.Time `json:"expires_at"` // the earlier of the idle and absolute ends
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

// sessionsCmd lists and ends dashboard sessions.
func (a *app) sessionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List open dashboard sessions (revoke one with: relais sessions revoke ID)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := a.open(cmd.Context(), need{})
			if err != nil {
				return err
			}
			defer d.close()
			rows, err := listSessions(cmd, d.store)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stdout, "no open dashboard session")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKEY\tNAME\tSCOPES\tCREATED\tLAST SEEN\tEXPIRES\tIP")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.KeyID, r.KeyName, strings.Join(r.Scopes, ","),
					r.CreatedAt.Format(time.RFC3339), r.LastSeen.Format(time.RFC3339), r.ExpiresAt.Format(time.RFC3339), r.IP)
			}
			return w.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End a dashboard session (by the id, or a unique prefix of it, shown by relais sessions)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := a.open(cmd.Context(), need{})
			if err != nil {
				return err
			}
			defer d.close()
			prefix := strings.ToLower(strings.TrimSpace(args[0]))
			if len(prefix) < 6 {
				return userErrorf("session id %q is too short: give at least 6 characters of the id shown by relais sessions", args[0])
			}
			all, err := d.store.ListSessions(cmd.Context(), time.Now())
			if err != nil {
				return err
			}
			var match []string
			for _, x := range all {
				if strings.HasPrefix(x.ID, prefix) {
					match = append(match, x.ID)
				}
			}
			switch len(match) {
			case 0:
				return userErrorf("no open session with id %q (see relais sessions)", args[0])
			case 1:
			default:
				return userErrorf("%d sessions start with %q: give more characters", len(match), args[0])
			}
			if err := d.store.DeleteSession(cmd.Context(), match[0]); errors.Is(err, store.ErrNotFound) {
				return userErrorf("no open session with id %q (see relais sessions)", args[0])
			} else if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]string{"revoked": match[0][:sessionIDShown]})
			}
			fmt.Fprintf(a.stdout, "session %s ended\n", match[0][:sessionIDShown])
			return nil
		},
	}
	cmd.AddCommand(revoke)
	return cmd
}

// listSessions returns the open sessions with their key's name and
// scopes, newest first.
func listSessions(cmd *cobra.Command, st store.Store) ([]sessionRow, error) {
	all, err := st.ListSessions(cmd.Context(), time.Now())
	if err != nil {
		return nil, err
	}
	keys, err := st.ListAPIKeys(cmd.Context())
	if err != nil {
		return nil, err
	}
	byID := map[string]store.APIKey{}
	for _, k := range keys {
		byID[k.ID] = k
	}
	rows := make([]sessionRow, 0, len(all))
	for _, x := range all {
		k := byID[x.KeyID]
		exp := x.ExpiresAt
		if x.IdleExpiresAt.Before(exp) {
			exp = x.IdleExpiresAt
		}
		rows = append(rows, sessionRow{ID: x.ID[:min(len(x.ID), sessionIDShown)], KeyID: x.KeyID, KeyName: k.Name, Scopes: k.Scopes,
			CreatedAt: x.CreatedAt, LastSeen: x.LastSeenAt, ExpiresAt: exp, IP: x.IP, UserAgent: x.UserAgent})
	}
	return rows, nil
}
