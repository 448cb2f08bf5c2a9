package main

import (
	"encoding/json"
	"fmt"
	"net"
	netmail "net/mail"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/campaign"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/email"
	"github.com/relais-dev/relais/internal/doctor"
)

// dnsResolver is what `relais doctor` looks DNS up with; tests replace it.
var dnsResolver doctor.Resolver = net.DefaultResolver

func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the DNS sending setup (SPF, DKIM, DMARC, MX) of every From domain",
		Long: `doctor looks up, for every From domain of the campaigns, the SPF record
(and whether it authorizes the SMTP relay), the DKIM public key of the
configured selector (it must match the configured key), the DMARC record and
policy, and MX (bounces to the Return-Path need it), and checks one-click
unsubscription for marketing email. For what is missing it prints the DNS
record to publish. Exit 1 when a check fails; lookups that fail for another
reason than a missing record (offline) are warnings and exit 0.
See docs/deliverability.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := a.doctorInput(a.campaignsAnd())
			if err != nil {
				return err
			}
			if len(in.Domains) == 0 {
				return userErrorf("no campaign in %s sends email: nothing to check", a.cfg.CampaignsDir)
			}
			res := doctor.Run(cmd.Context(), dnsResolver, in)
			if err := cmd.Context().Err(); err != nil {
				return err // interrupted: the lookups' failures say nothing
			}
			if a.jsonOut {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				writeDoctor(a, res)
			}
			if res.Failed() {
				fmt.Fprintln(a.stderr, "relais: doctor: a check failed; publish the records shown above")
				return silentError{code: exitUser}
			}
			return nil
		},
	}
}

// doctorInput collects the From domains of specs and the sending
// configuration.
func (a *app) doctorInput(specs []*campaign.Spec) (doctor.Input, error) {
	in := doctor.Input{BounceDomain: a.cfg.BounceDomain, PublicURL: a.cfg.PublicURL}
	byName := map[string]*doctor.Domain{}
	for _, sp := range specs {
		if sp == nil || sp.Sender.For(emailch.SenderKey) == "" {
			continue
		}
		addr, err := netmail.ParseAddress(sp.Sender.For(emailch.SenderKey))
		if err != nil {
			continue
		}
		name := strings.ToLower(addr.Address[strings.LastIndex(addr.Address, "@")+1:])
		d := byName[name]
		if d == nil {
			d = &doctor.Domain{Name: name}
			byName[name] = d
		}
		d.Campaigns = append(d.Campaigns, sp.ID)
		if sp.Purpose != campaign.Transactional {
			d.Marketing = true
		}
	}
	for _, d := range byName {
		in.Domains = append(in.Domains, *d)
	}
	sort.Slice(in.Domains, func(i, j int) bool { return in.Domains[i].Name < in.Domains[j].Name })
	if a.cfg.DKIM.Enabled() {
		signers, err := a.cfg.DKIM.Signers()
		if err != nil {
			return in, userErr(err)
		}
		for _, s := range signers {
			in.Keys = append(in.Keys, doctor.Key{Domain: s.Domain, Selector: s.Selector, Public: s.Key.Public()})
		}
	}
	if a.cfg.SMTPURL != "" {
		ec, err := email.ParseURL(a.cfg.SMTPURL)
		if err != nil {
			return in, userErr(fmt.Errorf("smtp_url: %w", err))
		}
		in.RelayHost = ec.Host
	}
	return in, nil
}

func writeDoctor(a *app, res doctor.Result) {
	domain := ""
	for _, c := range res.Checks {
		if c.Domain != domain {
			domain = c.Domain
			fmt.Fprintf(a.stdout, "%s\n", domain)
		}
		fmt.Fprintf(a.stdout, "  %-4s %-16s %s\n", strings.ToUpper(string(c.Status)), c.Name, c.Message)
		if c.Publish != "" {
			fmt.Fprintf(a.stdout, "       publish: %s\n", c.Publish)
		}
	}
	if res.Offline {
		fmt.Fprintln(a.stdout, "warning: some DNS lookups failed (offline?): their checks are warnings, not failures")
	}
}
