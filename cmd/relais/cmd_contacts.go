package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/config"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/rights"
	"github.com/relais-dev/relais/internal/store"
)

// clock returns the app's time: the injected clock in tests, else now.
func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// rightsStore opens the store for a contacts or consent command.
func (a *app) rightsStore(ctx context.Context) (*deps, store.RightsStore, error) {
	d, err := a.open(ctx, need{})
	if err != nil {
		return nil, nil, err
	}
	return d, d.store, nil
}

// resolve finds the contact REF names; an unknown or ambiguous reference
// is a user error.
func resolve(ctx context.Context, rs store.RightsStore, ref string) (*contact.Contact, error) {
	c, err := rights.Resolve(ctx, rs, ref)
	if errors.Is(err, rights.ErrNoContact) || errors.Is(err, rights.ErrAmbiguous) {
		return nil, userErr(err)
	}
	return c, err
}

// erasedAddress reports whether ref, an external id, email address or
// phone number no stored contact has, is on the suppression list because
// its contact was erased: forgetting someone twice is then "already
// done", not an error (the erasure blanked the row, so the reference
// finds it no more).
func (a *app) erasedAddress(ctx context.Context, d *deps, ref string) (bool, error) {
	c := &contact.Contact{Email: ref, Phone: ref}
	c.Normalize()
	keys := []string{rights.ErasedRefKey(d.secret, ref)}
	for _, k := range policy.SuppressionKeys(d.channels, d.secret, c) {
		keys = append(keys, k)
	}
	for _, key := range keys {
		ok, reason, err := d.store.Suppressed(ctx, key)
		if err != nil {
			return false, err
		}
		if ok && reason == "erased" {
			return true, nil
		}
	}
	return false, nil
}

func (a *app) contactsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contacts",
		Short: "The contact base: import, export (access request), forget (erasure), retention",
	}
	cmd.AddCommand(a.contactsImportCmd(), a.contactsExportCmd(), a.contactsForgetCmd(), a.contactsRetentionCmd())
	return cmd
}

func (a *app) contactsImportCmd() *cobra.Command {
	var mapping, source string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import contacts from CSV or JSONL, with their consent",
		Long: `import streams FILE (CSV with , or ; sniffed, UTF-8 with or without BOM or
Windows-1252, quoted fields with newlines; or JSONL) into the contact base in
batches of 1000. Contacts are matched by external id, else normalized email,
else phone, so importing again updates rather than duplicates. Consent
columns (consent_email, consent_sms, consent_postal: oui/non, yes/no, 1/0;
empty = unknown) become consent records with the source "import:<file>" and
the import time; a re-import never undoes a recorded refusal. Rows that
cannot be imported are reported on stderr as file:line: reason and skipped;
so are warnings about kept rows (a line break folded in a name, a country
that is not recognised). The summary goes to stdout (--json: all of it). Exit 0
when the import ran, even with rejected rows (they are counted).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var m *audience.Mapping
			if mapping != "" {
				var err error
				if m, err = audience.LoadMapping(mapping); err != nil {
					return userErr(err)
				}
			}
			src, err := audience.OpenFile(args[0], m)
			if err != nil {
				return userErr(err)
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			var is rights.ImportStore = d.store
			if source == "" {
				source = filepath.Base(args[0])
			}
			res, err := rights.Import(ctx, is, src, rights.ImportOptions{Source: source, Now: a.clock})
			if err != nil {
				return err
			}
			a.log.Info("contacts imported", "inserted", res.Inserted, "updated", res.Updated, "rejected", res.Rejected)
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(res)
			}
			// Rejected rows and warnings are diagnostics (stderr); the
			// summary is the result (stdout), so `> summary.txt` keeps it
			// clean and the problems stay on the screen.
			for _, e := range res.Errors {
				fmt.Fprintln(a.stderr, e)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(a.stderr, "warning:", w)
			}
			fmt.Fprintf(a.stdout, "%d inserted, %d updated, %d rejected; %d consent record(s) written\n",
				res.Inserted, res.Updated, res.Rejected, res.Consents)
			return nil
		},
	}
	cmd.Flags().StringVar(&mapping, "mapping", "", "column mapping file (YAML: header → field or attribute, value maps, types)")
	cmd.Flags().StringVar(&source, "source", "", `name of the import in consent proofs (default: the file name)`)
	return cmd
}

func (a *app) contactsExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export REF",
		Short: "Print everything held about a contact as JSON (access / portability request)",
		Long: `export prints, as JSON, the contact REF (external id, email or phone), its
consent records with their proof, its deliveries (the send ledger) and its
tracked events. Exit 1 when no contact matches.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, rs, err := a.rightsStore(ctx)
			if err != nil {
				return err
			}
			defer d.close()
			c, err := resolve(ctx, rs, args[0])
			if err != nil {
				return err
			}
			doc, err := rights.Export(ctx, rs, c, a.clock())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(doc)
		},
	}
}

func (a *app) contactsForgetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "forget REF",
		Short: "Erase a contact (right to erasure): PII removed, suppression kept",
		Long: `forget erases the contact REF (external id, email or phone) in one
transaction: its names, addresses, phone, attributes and imported consent
are removed; a keyed hash of each of its addresses is added to the
suppression list (reason erased), so a later import of the same address is
never sent to; its events lose their free text; its ledger rows stay
(they hold no personal data). A contact id ("#42") also works, and
forgetting an erased contact again succeeds and says so.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, rs, err := a.rightsStore(ctx)
			if err != nil {
				return err
			}
			defer d.close()
			var id int64
			if n, ok := strings.CutPrefix(args[0], "#"); ok {
				if id, err = strconv.ParseInt(n, 10, 64); err != nil {
					return userErrorf("contact id %q is not a number", args[0])
				}
			} else {
				c, err := resolve(ctx, rs, args[0])
				if errors.Is(err, rights.ErrNoContact) {
					if gone, serr := a.erasedAddress(ctx, d, args[0]); serr != nil {
						return serr
					} else if gone {
						if a.jsonOut {
							return json.NewEncoder(a.stdout).Encode(map[string]any{"reference": args[0], "erased": false, "already_erased": true})
						}
						fmt.Fprintf(a.stdout, "%s was already erased; its addresses stay suppressed\n", args[0])
						return nil
					}
				}
				if err != nil {
					return err
				}
				id = c.ID
			}
			erased, err := rights.ForgetOn(ctx, rs, d.channels, d.secret, id, a.clock())
			if errors.Is(err, store.ErrNotFound) {
				return userErr(err)
			}
			if err != nil {
				return err
			}
			a.log.Info("contact forgotten", "contact", id, "already", !erased)
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"contact_id": id, "erased": erased, "already_erased": !erased})
			}
			if !erased {
				fmt.Fprintf(a.stdout, "contact %d was already erased\n", id)
				return nil
			}
			fmt.Fprintf(a.stdout, "contact %d erased; its addresses stay suppressed\n", id)
			return nil
		},
	}
}

func (a *app) contactsRetentionCmd() *cobra.Command {
	var olderThan string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Erase prospects without activity for the retention period (default 3y)",
		Long: `retention erases every contact created more than --older-than ago that
has had no activity since: no human click, reply, response or conversion
(an open does not count: privacy proxies open everything) and no consent
granted. --dry-run only counts them. The scheduler runs the same job.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			period, err := parseAge(olderThan)
			if err != nil {
				return userErr(fmt.Errorf("--older-than: %w", err))
			}
			d, rs, err := a.rightsStore(ctx)
			if err != nil {
				return err
			}
			defer d.close()
			now := a.clock()
			var n int
			if dryRun {
				n, err = rights.Inactive(ctx, rs, now, period)
			} else {
				n, err = rights.RetentionOn(ctx, rs, d.channels, d.secret, now, period)
			}
			if err != nil {
				return err
			}
			a.log.Info("retention", "erased", n, "dry_run", dryRun)
			if a.jsonOut {
				key := "erased"
				if dryRun {
					key = "would_erase"
				}
				return json.NewEncoder(a.stdout).Encode(map[string]any{key: n, "dry_run": dryRun})
			}
			if dryRun {
				fmt.Fprintf(a.stdout, "%d contact(s) without activity since %s would be erased (dry run)\n", n, now.Add(-period).Format("2006-01-02"))
				return nil
			}
			fmt.Fprintf(a.stdout, "%d contact(s) without activity since %s erased\n", n, now.Add(-period).Format("2006-01-02"))
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "3y", "retention period: 3y, 18m (months), 90d, or a Go duration")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the contacts that would be erased")
	return cmd
}

// parseAge reads a retention period with config.ParseAge (3y, 18m, 90d
// or a Go duration), the same syntax as the retention key of relais.yaml.
func parseAge(s string) (time.Duration, error) {
	a, err := config.ParseAge(s)
	return time.Duration(a), err
}

func (a *app) consentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "consent",
		Short: "Record or show a contact's consent, with its proof",
	}
	cmd.AddCommand(a.consentSetCmd(), a.consentShowCmd())
	return cmd
}

func (a *app) consentSetCmd() *cobra.Command {
	var ch, purpose, source, text string
	var granted, refused bool
	cmd := &cobra.Command{
		Use:   "set REF --channel email|sms|postal (--granted|--refused)",
		Short: "Record a consent given or withdrawn, with its source and wording",
		Long: `set records that the contact REF (external id, email or phone) gave
(--granted) or withdrew (--refused) consent on a channel for a purpose,
with its proof: --source (where it was collected; default "cli") and
--text (the wording or its version). It replaces the previous record for
that channel and purpose and takes effect on the next send check: an
opt-out recorded during a run stops the sends not yet made.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if granted == refused {
				return userErrorf("give exactly one of --granted and --refused")
			}
			r, err := a.channels()
			if err != nil {
				return err
			}
			if keys := r.ConsentKeys(); !slices.Contains(keys, ch) {
				return userErrorf("--channel must be %s or %s, got %q", strings.Join(keys[:len(keys)-1], ", "), keys[len(keys)-1], ch)
			}
			switch purpose {
			case contact.PurposeMarketing, contact.PurposeOpenTracking:
			default:
				return userErrorf("--purpose must be %s or %s, got %q", contact.PurposeMarketing, contact.PurposeOpenTracking, purpose)
			}
			d, rs, err := a.rightsStore(ctx)
			if err != nil {
				return err
			}
			defer d.close()
			c, err := resolve(ctx, rs, args[0])
			if err != nil {
				return err
			}
			st := contact.ConsentState{Status: contact.Refused, Source: source, Text: text, At: a.clock().UTC()}
			if granted {
				st.Status = contact.Granted
			}
			if err := rs.SetConsent(ctx, c.ID, ch, purpose, st); err != nil {
				return err
			}
			a.log.Info("consent recorded", "contact", c.ID, "channel", ch, "purpose", purpose, "granted", granted)
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(store.ConsentRecord{ContactID: c.ID, Channel: ch, Purpose: purpose,
					Granted: granted, Source: source, Text: text, At: st.At})
			}
			verb := "refused"
			if granted {
				verb = "granted"
			}
			fmt.Fprintf(a.stdout, "contact %d: %s %s consent %s (source %s)\n", c.ID, ch, purpose, verb, source)
			return nil
		},
	}
	cmd.Flags().StringVar(&ch, "channel", "", "email, sms or postal (required)")
	cmd.Flags().StringVar(&purpose, "purpose", contact.PurposeMarketing, "marketing or open_tracking")
	cmd.Flags().BoolVar(&granted, "granted", false, "consent given")
	cmd.Flags().BoolVar(&refused, "refused", false, "consent withdrawn (opt-out)")
	cmd.Flags().StringVar(&source, "source", "cli", "where the consent was collected (proof)")
	cmd.Flags().StringVar(&text, "text", "", "the wording shown, or its version (proof)")
	return cmd
}

func (a *app) consentShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show REF",
		Short: "Show a contact's consent records with their proof",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, rs, err := a.rightsStore(ctx)
			if err != nil {
				return err
			}
			defer d.close()
			c, err := resolve(ctx, rs, args[0])
			if err != nil {
				return err
			}
			recs, err := rs.ListConsents(ctx, c.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if recs == nil {
					recs = []store.ConsentRecord{}
				}
				return json.NewEncoder(a.stdout).Encode(struct {
					ContactID int64                 `json:"contact_id"`
					Consents  []store.ConsentRecord `json:"consents"`
				}{c.ID, recs})
			}
			if len(recs) == 0 {
				fmt.Fprintf(a.stdout, "contact %d: no consent recorded\n", c.ID)
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CHANNEL\tPURPOSE\tSTATUS\tSOURCE\tAT\tTEXT")
			for _, r := range recs {
				status := "refused"
				if r.Granted {
					status = "granted"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Channel, r.Purpose, status, r.Source, r.At.Format(time.RFC3339), r.Text)
			}
			return w.Flush()
		},
	}
}
