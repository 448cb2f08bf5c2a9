package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

func (a *app) previewCmd() *cobra.Command {
	var ref, stepID, ch, out string
	cmd := &cobra.Command{
		Use:   "preview CAMPAIGN --contact REF --out DIR",
		Short: "Render exactly what one recipient would get (.eml, .sms.txt, .pdf) without sending",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ref == "" || out == "" {
				return userErrorf("--contact and --out are required")
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			sp, err := a.loadCampaign(args[0], d)
			if err != nil {
				return err
			}
			st := &sp.Steps[0]
			if stepID != "" {
				if st = sp.Step(stepID); st == nil {
					return userErrorf("--step: campaign %s has no step %q", sp.ID, stepID)
				}
			}
			c, err := findContact(ctx, sp, d.store, ref)
			if err != nil {
				return err
			}
			c.Normalize()
			if ch == "" {
				ch = firstChannel(d.channels, sp, st, c)
			}
			comp := compose.NewComposer()
			comp.Channels = d.channels
			msg, err := comp.Compose(compose.Input{Spec: sp, Step: st, Channel: ch, Contact: c, Now: time.Now(),
				LedgerID: safeName(sp.ID + "-" + st.ID + "-" + ref),
				Links:    compose.Links{Unsubscribe: a.cfg.PublicURL + "/u/preview", View: a.cfg.PublicURL + "/v/preview"}})
			if err != nil {
				return userErr(err)
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			path, err := a.writePreview(ctx, d.channels, out, msg)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&ref, "contact", "", "the recipient: external id or email address")
	cmd.Flags().StringVar(&stepID, "step", "", "step id (default: the first step)")
	cmd.Flags().StringVar(&ch, "channel", "", "channel (default: the first the recipient can receive)")
	cmd.Flags().StringVar(&out, "out", "", "folder to write the rendered message into")
	return cmd
}

// writePreview writes m into dir as its channel's provider would (an
// .eml, a PDF), or as the channel's descriptor previews it.
func (a *app) writePreview(ctx context.Context, r *channel.Registry, dir string, m *channel.Message) (string, error) {
	if w := a.previewers()[m.Channel]; w != nil {
		return w(ctx, dir, m)
	}
	if d, ok := r.Lookup(m.Channel); ok && d.Block.Preview != nil {
		name, data := d.Block.Preview(m)
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, data, 0o600)
	}
	return "", userErrorf("preview of channel %s is not available", m.Channel)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// firstChannel is the step's first channel on which c has a usable
// address (the channel's own rule), else its first channel.
func firstChannel(r *channel.Registry, sp *campaign.Spec, st *campaign.Step, c *contact.Contact) string {
	chans := sp.ChannelsFor(st)
	for _, ch := range chans {
		if d, ok := r.Lookup(ch); ok && d.Usable(c) {
			return ch
		}
	}
	return chans[0]
}

var errStop = errors.New("stop")

// findContact streams the campaign's audience source for ref (external id
// or email address).
func findContact(ctx context.Context, sp *campaign.Spec, st store.Store, ref string) (*contact.Contact, error) {
	src, err := campaignrun.Source(sp, st, func(audience.RowError) {})
	if err != nil {
		return nil, err
	}
	var found *contact.Contact
	err = src.Each(ctx, func(c *contact.Contact) error {
		if c.ExternalID == ref || (c.Email != "" && strings.EqualFold(c.Email, ref)) {
			found = c
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if found == nil {
		return nil, userErrorf("--contact: no recipient %q in the audience of %s", ref, sp.ID)
	}
	return found, nil
}
