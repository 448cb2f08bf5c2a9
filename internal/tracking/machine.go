package tracking

import (
	"strings"
	"time"
)

// DefaultMachineWindow is how soon after the token was issued (just before
// the send) an open or click counts as a machine: no person reads a
// message within seconds of its sending, but receiving gateways that scan
// links and images do.
const DefaultMachineWindow = 5 * time.Second

// machineMarkers are User-Agent fragments (lower case) of image proxies,
// security scanners and link prefetchers.
var machineMarkers = []string{
	"googleimageproxy", "ggpht.com", // Gmail image proxy (caches, so opens are not per person)
	"yahoomailproxy", "yahoo! slurp",
	"bot", "crawler", "spider", "preview", "prefetch", "scanner",
	"barracuda", "mimecast", "proofpoint", "symantec", "forcepoint", "trendmicro", "trend micro",
	"sophos", "fortiguard", "cisco", "ironport", "safelinks", "urldefense", "appriver",
	"headlesschrome", "phantomjs", "python-requests", "python-urllib", "go-http-client",
	"curl/", "wget/", "okhttp", "java/", "libwww", "httpclient", "axios/", "node-fetch",
	"facebookexternalhit", "slackbot", "linkedinbot", "whatsapp", "skypeuripreview", "discordbot",
}

// MachineUA reports whether a User-Agent belongs to a machine rather than
// a person's mail client or browser: an empty one; exactly "Mozilla/5.0",
// which Apple Mail Privacy Protection's proxy sends when it prefetches
// every image of a message; or one naming a known proxy, scanner or
// prefetcher.
func MachineUA(ua string) bool {
	ua = strings.TrimSpace(ua)
	if ua == "" || ua == "Mozilla/5.0" {
		return true
	}
	l := strings.ToLower(ua)
	for _, m := range machineMarkers {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

// isMachine combines the User-Agent and the time since issue.
func isMachine(ua string, issued, now time.Time, window time.Duration) bool {
	if MachineUA(ua) {
		return true
	}
	return !issued.IsZero() && now.Sub(issued) < window
}
