package render

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// literalURL finds URLs written in a template's source. The host part
// must be literal: a URL whose host comes from an action
// (https://{{.x}}…) gives no host.
var literalURL = regexp.MustCompile(`(?i)https?://[^\s"'<>{}()\[\]]+`)

// linkHosts returns the hosts of the http(s) URLs written literally in
// src, lower-cased, sorted, without duplicates. A URL continued by an
// action right after its host (https://shop.example{{.path}}) is not
// counted: the action could turn it into another host.
func linkHosts(src string) []string {
	var hosts []string
	for _, loc := range literalURL.FindAllStringIndex(src, -1) {
		m := src[loc[0]:loc[1]]
		rest := m[strings.Index(m, "//")+2:]
		if i := strings.IndexAny(rest, "/?#"); i < 0 && strings.HasPrefix(src[loc[1]:], "{{") {
			continue
		}
		u, err := url.Parse(m)
		if err != nil || u.Hostname() == "" || u.User != nil {
			continue
		}
		hosts = append(hosts, strings.ToLower(u.Hostname()))
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// LinkHosts returns the hosts of the links written in the template's
// source: the only destinations click tracking signs (with the hosts an
// operator allows), so a URL that reaches a message through contact or
// API data is never turned into a redirect from the sender's domain.
func (t *Template) LinkHosts() []string { return t.hosts }
