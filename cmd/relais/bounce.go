package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/tracking"
)

// correlator signs ledger ids into every email's Return-Path and headers
// (docs/deliverability.md), adding the variable headers of the providers
// whose webhooks are configured.
func (a *app) correlator(signer *tracking.Signer) *bounce.Correlator {
	c := &bounce.Correlator{Signer: signer, Domain: a.cfg.BounceDomain}
	wh := a.cfg.EmailWebhooks
	if wh.SendGrid.VerificationKey != "" {
		c.Providers = append(c.Providers, bounce.ProviderSendGrid)
	}
	if wh.Mailgun.SigningKey != "" {
		c.Providers = append(c.Providers, bounce.ProviderMailgun)
	}
	if wh.Postmark.User != "" {
		c.Providers = append(c.Providers, bounce.ProviderPostmark)
	}
	return c
}

// recorder applies bounces and complaints to d's store.
func (a *app) recorder(d *deps) *bounce.Recorder {
	limit := a.cfg.SoftBounces.Limit
	if limit == 0 {
		limit = -1 // configured 0: never suppress on soft bounces
	}
	return &bounce.Recorder{Store: d.store, Secret: d.secret, SoftLimit: limit,
		SoftWindow: a.cfg.SoftBounces.Window.Duration(), Log: a.log, Now: a.now, Observe: d.metrics.ObserveEvents}
}

// emailHooks returns the configured provider webhooks, nil when none is.
func (a *app) emailHooks(d *deps) (*bounce.Hooks, error) {
	wh := a.cfg.EmailWebhooks
	h := &bounce.Hooks{Recorder: a.recorder(d), Correlator: a.correlator(d.signer), Log: a.log, Now: a.now}
	if wh.SES.Enabled {
		h.SES = &bounce.SESConfig{TopicARNs: wh.SES.TopicARNs}
	}
	if wh.SendGrid.VerificationKey != "" {
		k, err := bounce.ParseSendGridKey(wh.SendGrid.VerificationKey)
		if err != nil {
			return nil, userErr(fmt.Errorf("email_webhooks.sendgrid.verification_key: %w", err))
		}
		h.SendGrid = &bounce.SendGridConfig{PublicKey: k}
	}
	if wh.Mailgun.SigningKey != "" {
		h.Mailgun = &bounce.MailgunConfig{SigningKey: wh.Mailgun.SigningKey}
	}
	if wh.Postmark.User != "" {
		h.Postmark = &bounce.PostmarkConfig{User: wh.Postmark.User, Password: wh.Postmark.Password}
	}
	if !h.Configured() {
		return nil, nil
	}
	return h, nil
}

// poller returns the bounce mailbox poller, nil when no mailbox is
// configured.
func (a *app) poller(d *deps) (*bounce.Poller, error) {
	if a.cfg.BounceMailbox == "" {
		return nil, nil
	}
	mb, err := bounce.ParseMailbox(a.cfg.BounceMailbox)
	if err != nil {
		return nil, userErr(err)
	}
	return &bounce.Poller{Mailbox: mb, Correlator: a.correlator(d.signer), Recorder: a.recorder(d), Log: a.log}, nil
}

// pollLoop polls p every bounce_poll_interval until ctx ends; a failed
// poll is logged and retried at the next tick.
func (a *app) pollLoop(ctx context.Context, p *bounce.Poller) {
	t := time.NewTicker(a.cfg.BouncePollInterval)
	defer t.Stop()
	for {
		if _, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("bounce mailbox poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *app) bouncesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bounces",
		Short: "Late bounces and complaints from the bounce mailbox",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "poll",
		Short: "Read the bounce mailbox once and apply its bounces and complaints",
		Long: `poll reads every message of bounce_mailbox not read before, records the
bounces (hard: the row becomes bounced and the address is suppressed; soft:
counted) and complaints (marketing consent refused, address suppressed) of
relais messages, flags them, and leaves other messages unread for a human.
Polling again changes nothing. See docs/deliverability.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			p, err := a.poller(d)
			if err != nil {
				return err
			}
			if p == nil {
				return userErrorf("bounce_mailbox is not configured (RELAIS_BOUNCE_MAILBOX)")
			}
			res, err := p.Poll(ctx)
			if err != nil {
				return err
			}
			if a.jsonOut {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(a.stdout, "read %d: %d hard bounces, %d soft bounces, %d complaints, %d delay warnings, %d already recorded, %d not from relais (left unread)\n",
				res.Read, res.Hard, res.Soft, res.Complaints, res.Delayed, res.Repeated, res.Unmatched)
			return nil
		},
	})
	return cmd
}
