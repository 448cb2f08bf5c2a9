package main

import (
	netmail "net/mail"
	"strings"

	"github.com/relais-dev/relais/internal/campaign"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/email"
)

// dkimOptions returns one email.WithDKIM per configured DKIM key, for the
// SMTP sender and the email outbox alike.
func (a *app) dkimOptions() ([]email.Option, error) {
	if !a.cfg.DKIM.Enabled() {
		return nil, nil
	}
	signers, err := a.cfg.DKIM.Signers()
	if err != nil {
		return nil, userErr(err)
	}
	opts := make([]email.Option, 0, len(signers))
	for _, s := range signers {
		opts = append(opts, email.WithDKIM(s.Domain, s.Selector, s.Key))
	}
	return opts, nil
}

// checkDKIM compares the DKIM keys with the From domains of specs before
// anything is sent: a key for a domain no campaign sends from is a user
// error naming its field; a From domain without a key is logged once as a
// warning (its messages leave unsigned) when DKIM or SMTP is configured.
func (a *app) checkDKIM(specs []*campaign.Spec) error {
	var domains []string
	for _, sp := range specs {
		from := ""
		if sp != nil {
			from = sp.Sender.For(emailch.SenderKey)
		}
		if from == "" {
			continue
		}
		addr, err := netmail.ParseAddress(from)
		if err != nil {
			continue // campaign validation reports it
		}
		domains = append(domains, strings.ToLower(addr.Address[strings.LastIndex(addr.Address, "@")+1:]))
	}
	unsigned, err := a.cfg.DKIM.CheckFromDomains(domains)
	if err != nil {
		return userErr(err)
	}
	if !a.cfg.DKIM.Enabled() && a.cfg.SMTPURL == "" {
		return nil
	}
	for _, d := range unsigned {
		a.log.Warn("no DKIM key for this From domain: its email leaves unsigned (dkim in the configuration)", "domain", d)
	}
	return nil
}

// campaignsAnd returns the live campaigns of the campaigns folder (files
// that fail to load are skipped: their commands report them) and specs.
func (a *app) campaignsAnd(specs ...*campaign.Spec) []*campaign.Spec {
	r, err := a.channels()
	if err != nil {
		return specs
	}
	c := a.newCatalog(r)
	_ = c.Reload()
	return append(c.List(), specs...)
}
