package campaign

import (
	"net/netip"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// isRemoteMedia reports whether an MMS media reference is written as a URL
// (it has a scheme and "://") rather than a path in the repository. Only
// https URLs pass Load; the others are reported there.
func isRemoteMedia(ref string) bool {
	scheme, _, ok := strings.Cut(ref, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, "/\\.")
}

// media decodes mms.media: repository paths are read and hashed like any
// referenced file; URLs are kept as they are (the provider fetches them)
// after checkMediaURL.
func (d *decoder) media(v *yaml.Node, what string, pos *positions) []string {
	list := d.strList(v, what)
	for i, s := range list {
		n := v
		if v.Kind == yaml.SequenceNode {
			n = v.Content[i]
		}
		if isRemoteMedia(s) {
			if msg := checkMediaURL(s); msg != "" {
				d.errorf(n, "%s %s", what, msg)
			}
			continue
		}
		pos.files = append(pos.files, fileRef{rel: s, node: n, use: useBinary})
	}
	return list
}

// checkMediaURL says why a remote media URL is refused, or "". Twilio
// fetches media from wherever the campaign says, so a campaign file must
// not be able to aim it (or relais' outbox) at an internal host: https
// only (an http URL would also be fetched in clear), no credentials in the
// URL (they would leak into logs and the provider's request), and no IP
// literal in loopback, private, link-local or otherwise non-public ranges.
// Host names are not resolved here (validate works offline): the sms
// channel checks what they resolve to at send time.
func checkMediaURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL"
	}
	switch {
	case u.Scheme != "https":
		return "URL must be https (Twilio fetches it; http is refused)"
	case u.User != nil:
		return "URL must not contain credentials"
	case u.Hostname() == "":
		return "URL has no host"
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "URL must not point at this machine (localhost)"
	}
	if a, err := netip.ParseAddr(host); err == nil && !publicIP(a) {
		return "URL host " + host + " is a loopback, private or reserved address"
	}
	return ""
}

// publicIP reports whether a is an address a public media server may
// have: global unicast and outside the private and shared ranges.
func publicIP(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// reservedPrefixes are ranges IsGlobalUnicast and IsPrivate let through
// but where no public server lives (CGNAT, benchmarking, documentation…).
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("2001:db8::/32"),
}
