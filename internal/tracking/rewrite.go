package tracking

import (
	"bytes"
	"html"
	"regexp"
	"strings"

	nethtml "golang.org/x/net/html"
)

// dropLink, returned by Rewrite's mk, removes the link from its <a> (the
// text stays, no longer clickable).
const dropLink = "\x00drop"

// Rewrite replaces the href of every <a> whose link is http(s) with
// mk(link) and returns the new HTML and the original links, in document
// order. mailto:, tel:, #anchors and relative links are left alone, and so
// is any link for which mk returns "" (the caller's way to skip its own
// unsubscribe and view links). Only rewritten <a> tags are re-serialised
// (attributes double-quoted and escaped); every other byte, including
// comments, conditional comments and malformed markup, is copied as is.
func Rewrite(src string, mk func(url string) string) (string, []string) {
	z := nethtml.NewTokenizer(strings.NewReader(src))
	var out bytes.Buffer
	out.Grow(len(src) + len(src)/4)
	var orig []string
	for {
		tt := z.Next()
		// Raw is written first: Token lower-cases names in the tokenizer's
		// buffer, and untouched tags must stay byte-exact.
		mark := out.Len()
		raw := z.Raw()
		out.Write(raw)
		if tt == nethtml.ErrorToken {
			// io.EOF (a strings.Reader cannot fail otherwise); Raw held
			// any unterminated tail, now copied.
			break
		}
		if (tt != nethtml.StartTagToken && tt != nethtml.SelfClosingTagToken) || !isAnchor(raw) {
			continue
		}
		tok := z.Token()
		changed := false
		for i, a := range tok.Attr {
			if a.Namespace != "" || a.Key != "href" {
				continue
			}
			link := strings.TrimSpace(a.Val)
			if !isHTTP(link) {
				continue
			}
			nu := mk(link)
			if nu == "" {
				continue
			}
			changed = true
			if nu == dropLink {
				tok.Attr[i].Key = "data-relais-unlinked"
				tok.Attr[i].Val = ""
				continue
			}
			orig = append(orig, link)
			tok.Attr[i].Val = nu
		}
		if changed {
			out.Truncate(mark)
			out.WriteString(tok.String())
		}
	}
	return out.String(), orig
}

// isAnchor reports whether a raw start tag is an <a> tag.
func isAnchor(raw []byte) bool {
	if len(raw) < 3 || (raw[1] != 'a' && raw[1] != 'A') {
		return false
	}
	switch raw[2] {
	case ' ', '\t', '\n', '\r', '\f', '/', '>':
		return true
	}
	return false
}

// isHTTP reports whether link is an absolute http or https URL.
func isHTTP(link string) bool {
	l := strings.ToLower(link)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// textURL finds URLs in plain text; trailing punctuation is trimmed after.
var textURL = regexp.MustCompile(`https?://[^\s<>"'()\[\]]+`)

// RewriteText replaces the http(s) URLs of a plain-text body with
// mk(url) (skipped when mk returns "") and returns the new text and the
// original URLs. A trailing '.', ',', ';', ':', '!' or '?' is taken as
// sentence punctuation, not part of the URL.
func RewriteText(text string, mk func(url string) string) (string, []string) {
	var orig []string
	out := textURL.ReplaceAllStringFunc(text, func(m string) string {
		u := strings.TrimRight(m, ".,;:!?")
		nu := mk(u)
		if nu == "" || nu == dropLink {
			return m
		}
		orig = append(orig, u)
		return nu + m[len(u):]
	})
	return out, orig
}

// Pixel inserts a 1×1 image loading url before the last </body> (or at
// the end when there is none). The image is hidden from screen readers
// (empty alt) and from layout.
func Pixel(src, url string) string {
	img := `<img src="` + html.EscapeString(url) + `" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`
	i := lastIndexFold(src, "</body")
	if i < 0 {
		return src + img
	}
	return src[:i] + img + src[i:]
}

// lastIndexFold is strings.LastIndex ignoring ASCII case.
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
