package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	printch "github.com/relais-dev/relais/internal/channel/builtin/print"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/channel/sms"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/twiliohook"
)

// channelPlugin adds a channel to this process beyond the built-in ones:
// its descriptor and the senders to attach to it (primary first). Tests
// use it to run a channel relais does not ship end to end.
type channelPlugin struct {
	Descriptor *channel.Descriptor
	Senders    func() ([]channel.Sender, error)
}

// channels returns the registry of this process's channels, without
// senders: the built-in ones, then the plugins'.
func (a *app) channels() (*channel.Registry, error) {
	r := channel.NewRegistry()
	if err := builtin.Register(r); err != nil {
		return nil, err
	}
	for _, p := range a.plugins {
		if err := r.Register(p.Descriptor); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// loader loads campaign files with this process's channels.
func (a *app) loader() (campaign.Loader, error) {
	r, err := a.channels()
	return campaign.Loader{Channels: r}, err
}

// newCatalog returns a catalog of the campaigns folder loading with this
// process's channels.
func (a *app) newCatalog(r *channel.Registry) *catalog.Catalog {
	c := catalog.New(a.cfg.CampaignsDir)
	c.Loader = campaign.Loader{Channels: r}
	return c
}

// attachSenders attaches a provider to each channel of r: the configured
// one (SMTP, Twilio), or the outbox transport when none is configured,
// and the print batcher's spool; then the plugins' senders.
func (a *app) attachSenders(r *channel.Registry, b *print.Batcher) error {
	a.outboxed = map[string]string{}
	dkim, err := a.dkimOptions()
	if err != nil {
		return err
	}
	if a.corr != nil {
		dkim = append(dkim, email.WithCorrelator(a.corr))
	}
	var es channel.Sender
	if a.cfg.SMTPURL != "" {
		ec, err := email.ParseURL(a.cfg.SMTPURL)
		if err != nil {
			return userErr(fmt.Errorf("smtp_url: %w", err))
		}
		if es, err = email.New(ec, append(dkim, email.WithLogger(a.log))...); err != nil {
			return userErr(fmt.Errorf("smtp_url: %w", err))
		}
	} else if es, err = email.NewOutboxWith(filepath.Join(a.cfg.OutboxDir, emailch.Name), dkim...); err != nil {
		return userErr(fmt.Errorf("dkim: %w", err))
	} else {
		a.outboxed[emailch.Name] = "smtp_url (RELAIS_SMTP_URL)"
	}
	if err := r.AddSender(emailch.Name, es); err != nil {
		return err
	}
	for _, name := range []string{smsch.SMS, smsch.MMS} {
		var s channel.Sender
		var err error
		if a.cfg.TwilioAccountSID != "" {
			s, err = twilio.New(twilio.Config{Name: name, AccountSID: a.cfg.TwilioAccountSID, AuthToken: a.cfg.TwilioAuthToken,
				APIBaseURL: a.cfg.TwilioAPIBaseURL, StatusCallback: strings.TrimSuffix(a.cfg.PublicURL, "/") + twiliohook.StatusPath,
				// relais's own media URLs are on the public URL: on a
				// loopback one (development, tests) they must pass.
				AllowPrivateMedia: loopbackURL(a.cfg.PublicURL)})
			if err != nil {
				return userErr(fmt.Errorf("twilio: %w", err))
			}
		} else if s, err = sms.NewOutbox(filepath.Join(a.cfg.OutboxDir, name), name); err != nil {
			return err
		} else {
			a.outboxed[name] = "twilio_account_sid and twilio_auth_token (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)"
		}
		if err := r.AddSender(name, s); err != nil {
			return err
		}
	}
	if err := r.AddSender(printch.Name, b.Sender()); err != nil {
		return err
	}
	for _, p := range a.plugins {
		if p.Senders == nil {
			continue
		}
		ss, err := p.Senders()
		if err != nil {
			return err
		}
		for _, s := range ss {
			if err := r.AddSender(p.Descriptor.Name, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkProviders refuses to start sending when a campaign of specs uses a
// channel that has no provider configured here and would therefore write
// its messages to the outbox, outside embedded mode and without an
// explicit outbox_dir: a production deployment must not mark messages
// accepted that only went to files. The error names the missing setting.
func (a *app) checkProviders(specs []*campaign.Spec) error {
	if a.cfg.OutboxAllowed() {
		return nil
	}
	var errs []error
	seen := map[string]bool{}
	for _, sp := range specs {
		if sp == nil {
			continue
		}
		for i := range sp.Steps {
			for _, ch := range sp.ChannelsFor(&sp.Steps[i]) {
				setting, missing := a.outboxed[ch]
				if !missing || seen[sp.ID+"\x00"+ch] {
					continue
				}
				seen[sp.ID+"\x00"+ch] = true
				errs = append(errs, fmt.Errorf("campaign %s (%s) sends on %s, which has no provider configured: set %s, "+
					"or set outbox_dir (RELAIS_OUTBOX_DIR) to write its messages to files", sp.ID, sp.Path, ch, setting))
			}
		}
	}
	if len(errs) > 0 {
		return userErr(errors.Join(errs...))
	}
	return nil
}

// previewers write a message of a channel whose preview needs its
// provider: the .eml of an email, the PDF of a letter.
func (a *app) previewers() map[string]func(ctx context.Context, dir string, m *channel.Message) (string, error) {
	return map[string]func(ctx context.Context, dir string, m *channel.Message) (string, error){
		emailch.Name: func(ctx context.Context, dir string, m *channel.Message) (string, error) {
			if _, err := email.NewOutbox(dir).Send(ctx, m); err != nil {
				return "", err
			}
			return filepath.Join(dir, m.LedgerID+".eml"), nil
		},
		printch.Name: func(ctx context.Context, dir string, m *channel.Message) (string, error) {
			p := filepath.Join(dir, m.LedgerID+".pdf")
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return "", err
			}
			if err := print.RenderOne(ctx, m, a.cfg.Print, f); err != nil {
				f.Close()
				return "", userErr(err)
			}
			return p, f.Close()
		},
	}
}

// batcherOptions are added to every Batcher of the process (tests set a
// preflight window to have a batch rejected).
var batcherOptions []print.Option

// batcher is the print channel's spool and batch assembler, writing under
// <outbox_dir>/print.
func (a *app) batcher() (*print.Batcher, error) {
	b, err := print.NewBatcher(filepath.Join(a.cfg.OutboxDir, printch.Name), a.cfg.Print, batcherOptions...)
	if err != nil {
		return nil, userErr(fmt.Errorf("print: %w", err))
	}
	return b, nil
}
