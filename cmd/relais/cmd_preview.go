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
	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/postal"
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
				ch = firstChannel(sp, st, c)
			}
			msg, err := compose.NewComposer().Compose(compose.Input{Spec: sp, Step: st, Channel: ch, Contact: c, Now: time.Now(),
				LedgerID: safeName(sp.ID + "-" + st.ID + "-" + ref),
				Links:    compose.Links{Unsubscribe: a.cfg.PublicURL + "/u/preview", View: a.cfg.PublicURL + "/v/preview"}})
			if err != nil {
				return userErr(err)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			path, err := writePreview(ctx, out, msg, a.cfg.Print)
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

func writePreview(ctx context.Context, dir string, m *channel.Message, layout postal.Layout) (string, error) {
	switch m.Channel {
	case channel.Email:
		if _, err := email.NewOutbox(dir).Send(ctx, m); err != nil {
			return "", err
		}
		return filepath.Join(dir, m.LedgerID+".eml"), nil
	case channel.SMS, channel.MMS:
		p := filepath.Join(dir, m.LedgerID+".sms.txt")
		return p, os.WriteFile(p, []byte(m.Text+"\n"), 0o644)
	case channel.Print:
		p := filepath.Join(dir, m.LedgerID+".pdf")
		f, err := os.Create(p)
		if err != nil {
			return "", err
		}
		if err := print.RenderOne(ctx, m, layout, f); err != nil {
			f.Close()
			return "", userErr(err)
		}
		return p, f.Close()
	}
	return "", userErrorf("preview of channel %s is not available", m.Channel)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// firstChannel is the step's first channel for which c has an address.
func firstChannel(sp *campaign.Spec, st *campaign.Step, c *contact.Contact) string {
	chans := sp.ChannelsFor(st)
	for _, ch := range chans {
		switch {
		case ch == channel.Email && c.Email != "",
			(ch == channel.SMS || ch == channel.MMS) && c.Phone != "",
			ch == channel.Print && c.Address.Postcode != "":
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
