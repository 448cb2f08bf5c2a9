package sms

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"

	"github.com/relais-dev/relais/internal/contact"
)

// IsE164 reports whether s is a phone number in E.164 form, the only form
// Twilio accepts without guessing a country. It is relais's one phone
// rule (contact.IsE164, libphonenumber), so the policy, the API and the
// sender agree on which numbers can be texted.
func IsE164(s string) bool { return contact.IsE164(s) }

// nonPublic lists ranges that IsGlobalUnicast and IsPrivate let through but
// where no public media host lives.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: may map to a private IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
}

// publicAddr reports whether a media host may be fetched by a provider on
// relais's behalf without pointing it at something internal.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckMedia refuses media URLs a provider should not be asked to fetch:
// anything but https, URLs with credentials, and hosts that resolve to
// loopback, private, link-local or otherwise non-public addresses, because
// the URL may come from campaign data (SSRF). allowPrivate lifts the address
// and https checks (http is then accepted) for tests that serve media from
// 127.0.0.1. A host that does not exist is a permanent failure; a DNS failure
// is temporary. The check runs at send time and Twilio fetches later, so a
// host that changes its DNS answer in between is not caught: this is a
// guard against mistakes and hostile data, not a network boundary.
func CheckMedia(ctx context.Context, lookup func(context.Context, string) ([]netip.Addr, error), raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return Permanent(ReasonInvalidMedia, "media URL is not an absolute URL without credentials")
	}
	if allowPrivate {
		if u.Scheme != "https" && u.Scheme != "http" {
			return Permanent(ReasonInvalidMedia, "media URL scheme must be http or https")
		}
		return nil
	}
	if u.Scheme != "https" {
		return Permanent(ReasonInvalidMedia, "media URL must be https")
	}
	host := u.Hostname()
	addrs := []netip.Addr(nil)
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, a)
	} else {
		addrs, err = lookup(ctx, host)
		if err != nil {
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				return Permanent(ReasonInvalidMedia, "media host does not exist")
			}
			return &Error{Reason: ReasonNetwork, cause: err}
		}
	}
	if len(addrs) == 0 {
		return Permanent(ReasonInvalidMedia, "media host has no address")
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return Permanent(ReasonInvalidMedia, "media host is not a public address")
		}
	}
	return nil
}

// DefaultLookup resolves a media host with the system resolver.
func DefaultLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
