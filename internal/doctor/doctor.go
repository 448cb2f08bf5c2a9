// Package doctor checks in DNS what receivers check before they trust a
// sender: SPF, the DKIM public key, DMARC and MX of every From domain, and
// the one-click unsubscription marketing email needs. For what is missing
// it says the exact record to publish. Lookups go through a Resolver so
// tests use a fake; a lookup that fails for another reason than "no such
// record" is reported as offline, not as a failure.
package doctor

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// Resolver is the DNS lookups doctor makes; *net.Resolver implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Key is a configured DKIM key.
type Key struct {
	Domain, Selector string
	Public           crypto.PublicKey
}

// Domain is a From domain and what is sent from it.
type Domain struct {
	Name      string
	Campaigns []string
	Marketing bool // some campaign sends marketing email from it
}

// Input is the sending setup to check.
type Input struct {
	Domains []Domain
	Keys    []Key
	// RelayHost is the SMTP relay's host ("" when email goes to the
	// outbox): SPF must authorize it.
	RelayHost string
	// BounceDomain is the Return-Path domain ("" : each From domain).
	BounceDomain string
	// PublicURL is where the one-click unsubscribe endpoint is served.
	PublicURL string
}

// Status of a check.
type Status string

// Statuses.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is the outcome of one check of one domain.
type Check struct {
	Domain  string `json:"domain"`
	Name    string `json:"check"` // spf, dkim, dmarc, mx, list_unsubscribe
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Publish is the DNS record to add or replace, in zone-file syntax.
	Publish string `json:"publish,omitempty"`
}

// Result is every check.
type Result struct {
	Checks []Check `json:"checks"`
	// Offline is set when a lookup failed for another reason than a
	// missing record: the affected checks are warnings.
	Offline bool `json:"offline"`
}

// Failed reports whether a check failed.
func (r Result) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == Fail })
}

type checker struct {
	ctx context.Context
	r   Resolver
	in  Input
	res Result
}

// Run checks every domain of in.
func Run(ctx context.Context, r Resolver, in Input) Result {
	c := &checker{ctx: ctx, r: r, in: in}
	relayIPs := c.relayIPs()
	for _, d := range in.Domains {
		c.spf(d.Name, relayIPs)
		c.dkim(d.Name)
		c.dmarc(d.Name)
		c.mx(d.Name)
		if d.Marketing {
			c.unsubscribe(d.Name)
		}
	}
	if b := in.BounceDomain; b != "" && !slices.ContainsFunc(in.Domains, func(d Domain) bool { return d.Name == b }) {
		c.mx(b)
	}
	return c.res
}

func (c *checker) add(ch Check) { c.res.Checks = append(c.res.Checks, ch) }

// lookup classifies a lookup error: missing (no such record) or offline.
func (c *checker) lookupErr(domain, name string, err error) (missing bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	c.res.Offline = true
	c.add(Check{Domain: domain, Name: name, Status: Warn, Message: "DNS lookup failed (offline?): " + err.Error()})
	return false
}

func (c *checker) txt(domain, check, name string) ([]string, bool) {
	recs, err := c.r.LookupTXT(c.ctx, name)
	if err != nil {
		if c.lookupErr(domain, check, err) {
			return nil, true
		}
		return nil, false
	}
	return recs, true
}

func (c *checker) relayIPs() []string {
	if c.in.RelayHost == "" {
		return nil
	}
	if ip := net.ParseIP(c.in.RelayHost); ip != nil {
		return []string{ip.String()}
	}
	ips, err := c.r.LookupHost(c.ctx, c.in.RelayHost)
	if err != nil {
		return nil
	}
	return ips
}

// spf checks the domain's SPF record and that it authorizes the relay.
func (c *checker) spf(domain string, relayIPs []string) {
	recs, ok := c.txt(domain, "spf", domain)
	if !ok {
		return
	}
	var spf []string
	for _, r := range recs {
		if strings.HasPrefix(strings.ToLower(r), "v=spf1") {
			spf = append(spf, r)
		}
	}
	mech := "a:" + c.in.RelayHost
	if c.in.RelayHost == "" {
		mech = "include:<your relay's SPF domain>"
	} else if len(relayIPs) > 0 {
		mech = "ip4:" + relayIPs[0]
		if strings.Contains(relayIPs[0], ":") {
			mech = "ip6:" + relayIPs[0]
		}
	}
	switch len(spf) {
	case 0:
		c.add(Check{Domain: domain, Name: "spf", Status: Fail, Message: "no SPF record",
			Publish: fmt.Sprintf(`%s. IN TXT "v=spf1 %s ~all"`, domain, mech)})
		return
	case 1:
	default:
		c.add(Check{Domain: domain, Name: "spf", Status: Fail, Message: "several SPF records (receivers treat this as an error): merge them into one"})
		return
	}
	if c.in.RelayHost == "" {
		c.add(Check{Domain: domain, Name: "spf", Status: OK, Message: "SPF record present (no SMTP relay configured: its authorization is not checked)"})
		return
	}
	if c.authorizes(spf[0], relayIPs, 0) {
		c.add(Check{Domain: domain, Name: "spf", Status: OK, Message: "SPF authorizes the relay " + c.in.RelayHost})
		return
	}
	if len(relayIPs) == 0 {
		c.add(Check{Domain: domain, Name: "spf", Status: Warn, Message: "SPF present; whether it authorizes the relay " + c.in.RelayHost + " could not be determined"})
		return
	}
	fixed := strings.Replace(spf[0], "v=spf1", "v=spf1 "+mech, 1)
	c.add(Check{Domain: domain, Name: "spf", Status: Fail, Message: "SPF does not authorize the relay " + c.in.RelayHost,
		Publish: fmt.Sprintf(`%s. IN TXT %q`, domain, fixed)})
}

// authorizes reports whether an SPF record names the relay (its host, one
// of its addresses, or through include: up to three levels).
func (c *checker) authorizes(rec string, ips []string, depth int) bool {
	for _, f := range strings.Fields(rec) {
		f = strings.TrimLeft(strings.ToLower(f), "+~?")
		name, val, _ := strings.Cut(f, ":")
		switch name {
		case "ip4", "ip6":
			for _, ip := range ips {
				if val == ip {
					return true
				}
				if _, n, err := net.ParseCIDR(val); err == nil && n.Contains(net.ParseIP(ip)) {
					return true
				}
			}
		case "a":
			if val == strings.ToLower(c.in.RelayHost) {
				return true
			}
		case "include":
			if depth >= 3 {
				continue
			}
			recs, err := c.r.LookupTXT(c.ctx, val)
			if err != nil {
				continue
			}
			for _, r := range recs {
				if strings.HasPrefix(strings.ToLower(r), "v=spf1") && c.authorizes(r, ips, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// keyFor returns the configured key signing domain (or a parent).
func (c *checker) keyFor(domain string) *Key {
	for d := domain; d != ""; {
		for i := range c.in.Keys {
			if strings.EqualFold(c.in.Keys[i].Domain, d) {
				return &c.in.Keys[i]
			}
		}
		_, rest, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(rest, ".") {
			break
		}
		d = rest
	}
	return nil
}

// dkimRecord is the TXT record of k's public key.
func dkimRecord(k *Key) (string, error) {
	switch pub := k.Public.(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	default:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	}
}

// dkim checks that the selector's TXT record holds the configured key.
func (c *checker) dkim(domain string) {
	k := c.keyFor(domain)
	if k == nil {
		c.add(Check{Domain: domain, Name: "dkim", Status: Warn,
			Message: "no DKIM key configured for this domain: its email leaves unsigned, and one-click unsubscription is not honoured (dkim in the configuration)"})
		return
	}
	want, err := dkimRecord(k)
	if err != nil {
		c.add(Check{Domain: domain, Name: "dkim", Status: Fail, Message: "configured key: " + err.Error()})
		return
	}
	name := k.Selector + "._domainkey." + k.Domain
	publish := fmt.Sprintf(`%s. IN TXT %s`, name, quoteTXT(want))
	recs, ok := c.txt(domain, "dkim", name)
	if !ok {
		return
	}
	_, wantP, _ := strings.Cut(want, "p=")
	for _, r := range recs {
		if tag(r, "p") == wantP {
			c.add(Check{Domain: domain, Name: "dkim", Status: OK, Message: "DKIM key at " + name + " matches the configured key"})
			return
		}
	}
	if len(recs) == 0 {
		c.add(Check{Domain: domain, Name: "dkim", Status: Fail, Message: "no DKIM record at " + name, Publish: publish})
		return
	}
	c.add(Check{Domain: domain, Name: "dkim", Status: Fail, Message: "the DKIM record at " + name + " does not match the configured key", Publish: publish})
}

// quoteTXT quotes a TXT value in strings of at most 255 characters.
func quoteTXT(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	parts = append(parts, `"`+s+`"`)
	return strings.Join(parts, " ")
}

// tag returns a tag's value of a DKIM or DMARC record (spaces removed).
func tag(rec, name string) string {
	for _, f := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(f, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

// dmarc checks _dmarc.<domain>, then the organizational domain's record
// which receivers fall back to.
func (c *checker) dmarc(domain string) {
	names := []string{"_dmarc." + domain}
	if org := orgDomain(domain); org != domain {
		names = append(names, "_dmarc."+org)
	}
	for _, n := range names {
		recs, ok := c.txt(domain, "dmarc", n)
		if !ok {
			return
		}
		for _, r := range recs {
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(r)), "V=DMARC1") {
				p := tag(r, "p")
				st, msg := OK, "DMARC policy p="+p+" at "+n
				if p == "none" {
					msg += " (monitoring only; consider quarantine once reports are clean)"
				}
				if p == "" {
					st, msg = Fail, "DMARC record at "+n+" has no p= policy"
				}
				c.add(Check{Domain: domain, Name: "dmarc", Status: st, Message: msg})
				return
			}
		}
	}
	c.add(Check{Domain: domain, Name: "dmarc", Status: Fail, Message: "no DMARC record (Gmail and Yahoo require one from bulk senders)",
		Publish: fmt.Sprintf(`_dmarc.%s. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@%s"`, domain, domain)})
}

// orgDomain approximates the organizational domain: the last two labels.
func orgDomain(d string) string {
	labels := strings.Split(d, ".")
	if len(labels) <= 2 {
		return d
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// mx checks the domain receives mail: replies, and bounces sent to the
// Return-Path.
func (c *checker) mx(domain string) {
	mxs, err := c.r.LookupMX(c.ctx, domain)
	if err != nil && !c.lookupErr(domain, "mx", err) {
		return
	}
	bounceHere := c.in.BounceDomain == "" || c.in.BounceDomain == domain
	if len(mxs) == 0 {
		st, msg := Warn, "no MX record: replies to this domain are lost"
		if bounceHere {
			st, msg = Fail, "no MX record: bounces sent to the Return-Path (bounce+…@"+domain+") are lost"
		}
		c.add(Check{Domain: domain, Name: "mx", Status: st, Message: msg,
			Publish: fmt.Sprintf(`%s. IN MX 10 <the host of your bounce mailbox>.`, domain)})
		return
	}
	hosts := make([]string, 0, len(mxs))
	for _, m := range mxs {
		hosts = append(hosts, strings.TrimSuffix(m.Host, "."))
	}
	c.add(Check{Domain: domain, Name: "mx", Status: OK, Message: "MX " + strings.Join(hosts, ", ")})
}

// unsubscribe checks what RFC 8058 one-click unsubscription needs: an
// https public URL receivers can reach, and a DKIM signature covering
// List-Unsubscribe and List-Unsubscribe-Post (relais signs both).
func (c *checker) unsubscribe(domain string) {
	u := c.in.PublicURL
	switch {
	case !strings.HasPrefix(u, "https://"):
		c.add(Check{Domain: domain, Name: "list_unsubscribe", Status: Warn,
			Message: "marketing email carries List-Unsubscribe, but public_url is not https: mailbox providers ignore one-click unsubscription over http"})
	case c.keyFor(domain) == nil:
		c.add(Check{Domain: domain, Name: "list_unsubscribe", Status: Warn,
			Message: "List-Unsubscribe and one-click are present but unsigned (no DKIM key): providers do not honour them"})
	default:
		c.add(Check{Domain: domain, Name: "list_unsubscribe", Status: OK,
			Message: "List-Unsubscribe (https) with List-Unsubscribe-Post: List-Unsubscribe=One-Click, DKIM-signed"})
	}
}
