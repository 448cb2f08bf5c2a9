package tracking

import (
	"bytes"
	"html"
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
	var r rewriter
	r.urls = []string{}
	r.scan(src, mk, nil)
	if len(r.urls) == 0 {
		r.urls = nil
	}
	return r.output(src, ""), r.urls
}

// rewriter rewrites the links of one HTML body: scan records the <a>
// tags to replace, output writes the result, once, in one allocation.
type rewriter struct {
	edits []edit
	tags  strings.Builder // the new tags, one after the other
	urls  []string        // the original links; nil: not collected
	attrs []attr
}

// edit replaces src[start:end] (a whole <a> tag) with tags[from:to].
type edit struct{ start, end, from, to int }

// attr is one attribute of the <a> being rewritten: key and val point
// into the tokenizer's buffer (val unescaped), set replaces them.
type attr struct {
	key, val     []byte
	set          bool
	nkey, nvalue string
}

// scan records the edits of src. seen, when not nil, holds mk's answer
// by link: mk is then called once per distinct link (for a caller whose mk
// always gives the same answer for the same link, this saves a copy of
// each link and the call).
func (r *rewriter) scan(src string, mk func(url string) string, seen map[string]string) {
	z := nethtml.NewTokenizer(strings.NewReader(src))
	pos := 0
	for {
		tt := z.Next()
		// The token's raw bytes are src[start:pos]: the tokenizer reads
		// src in order and every byte belongs to exactly one token.
		raw := z.Raw()
		start := pos
		pos += len(raw)
		if tt == nethtml.ErrorToken {
			// io.EOF (a strings.Reader cannot fail otherwise).
			return
		}
		if (tt != nethtml.StartTagToken && tt != nethtml.SelfClosingTagToken) || !isAnchor(raw) {
			continue
		}
		// isAnchor saw the whole name: it is "a", so TagName (a copy) is
		// not needed.
		r.attrs = r.attrs[:0]
		changed := false
		for more := true; more; {
			var a attr
			if a.key, a.val, more = z.TagAttr(); a.key == nil {
				break // no attributes
			}
			if string(a.key) == "href" {
				if link := bytes.TrimSpace(a.val); isHTTPBytes(link) {
					nu, known := seen[string(link)]
					var s string
					if !known || r.urls != nil {
						s = string(link)
					}
					if !known {
						nu = mk(s)
						if seen != nil {
							seen[s] = nu
						}
					}
					if nu == dropLink {
						changed, a.set, a.nkey = true, true, "data-relais-unlinked"
					} else if nu != "" {
						changed, a.set, a.nkey, a.nvalue = true, true, "href", nu
						if r.urls != nil {
							r.urls = append(r.urls, s)
						}
					}
				}
			}
			r.attrs = append(r.attrs, a)
		}
		if !changed {
			continue
		}
		// The tag as html.Token.String writes it: lower-case name and
		// keys, every value double-quoted and escaped.
		from := r.tags.Len()
		r.tags.WriteString("<a")
		for _, a := range r.attrs {
			r.tags.WriteByte(' ')
			if a.set {
				r.tags.WriteString(a.nkey)
				r.tags.WriteString(`="`)
				escapeAttr(&r.tags, a.nvalue)
			} else {
				r.tags.Write(a.key)
				r.tags.WriteString(`="`)
				escapeAttr(&r.tags, string(a.val))
			}
			r.tags.WriteByte('"')
		}
		if tt == nethtml.SelfClosingTagToken {
			r.tags.WriteByte('/')
		}
		r.tags.WriteByte('>')
		r.edits = append(r.edits, edit{start: start, end: pos, from: from, to: r.tags.Len()})
	}
}

// output returns src with the edits applied and, when img is not empty,
// img inserted before the last </body of the result (at the end when
// there is none), as Pixel does.
func (r *rewriter) output(src, img string) string {
	if len(r.edits) == 0 {
		if img == "" {
			return src
		}
		return insertPixel(src, img)
	}
	tags := r.tags.String()
	// The pieces of the result, alternately from src and from tags.
	n := 2*len(r.edits) + 1
	var stack [33]string
	pieces := stack[:0]
	if n > len(stack) {
		pieces = make([]string, 0, n)
	}
	size, last := len(img), 0
	for _, e := range r.edits {
		pieces = append(pieces, src[last:e.start], tags[e.from:e.to])
		size += e.start - last + e.to - e.from
		last = e.end
	}
	pieces = append(pieces, src[last:])
	size += len(src) - last
	// "</body" cannot span two pieces: a new tag starts with '<', which
	// is only the first byte of "</body", and ends with '>', which is
	// not in it.
	at, off := len(pieces), 0
	if img != "" {
		at = len(pieces) - 1
		off = len(pieces[at])
		for i := len(pieces) - 1; i >= 0; i-- {
			if j := lastIndexFold(pieces[i], "</body"); j >= 0 {
				at, off = i, j
				break
			}
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i, p := range pieces {
		if i == at {
			b.WriteString(p[:off])
			b.WriteString(img)
			b.WriteString(p[off:])
			continue
		}
		b.WriteString(p)
	}
	return b.String()
}

// escapeAttr writes s escaped as x/net/html escapes attribute values
// (&, ', <, >, " and CR).
func escapeAttr(b *strings.Builder, s string) {
	for {
		i := strings.IndexAny(s, "&'<>\"\r")
		if i < 0 {
			b.WriteString(s)
			return
		}
		b.WriteString(s[:i])
		switch s[i] {
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&#39;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\r':
			b.WriteString("&#13;")
		}
		s = s[i+1:]
	}
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
	return hasPrefixFold(link, "http://") || hasPrefixFold(link, "https://")
}

func isHTTPBytes(link []byte) bool {
	return hasPrefixFold(string(link), "http://") || hasPrefixFold(string(link), "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// RewriteText replaces the http(s) URLs of a plain-text body with
// mk(url) (skipped when mk returns "") and returns the new text and the
// original URLs. A URL runs from "http://" or "https://" to the first
// space, control space, quote, angle bracket, parenthesis or square
// bracket; a trailing '.', ',', ';', ':', '!' or '?' is taken as sentence
// punctuation, not part of the URL.
func RewriteText(text string, mk func(url string) string) (string, []string) {
	urls := []string{}
	out := rewriteText(text, mk, &urls)
	if len(urls) == 0 {
		urls = nil
	}
	return out, urls
}

// rewriteText is RewriteText collecting the original URLs into urls
// when it is not nil.
func rewriteText(text string, mk func(url string) string, urls *[]string) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		start, end := nextTextURL(text, i)
		if start < 0 {
			break
		}
		i = end
		m := text[start:end]
		u := strings.TrimRight(m, ".,;:!?")
		nu := mk(u)
		if nu == "" || nu == dropLink {
			continue
		}
		if urls != nil {
			*urls = append(*urls, u)
		}
		if b.Cap() == 0 {
			b.Grow(len(text) + len(text)/2)
		}
		b.WriteString(text[last:start])
		b.WriteString(nu)
		b.WriteString(m[len(u):])
		last = end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// nextTextURL returns the bounds of the first URL of s at or after from,
// (-1, -1) when there is none. A URL is "http://" or "https://" followed
// by at least one byte that may continue it.
func nextTextURL(s string, from int) (start, end int) {
	for i := from; i < len(s); {
		k := strings.Index(s[i:], "http")
		if k < 0 {
			break
		}
		p := i + k
		var body int
		switch {
		case strings.HasPrefix(s[p:], "https://") && p+8 < len(s) && urlByte(s[p+8]):
			body = p + 8
		case strings.HasPrefix(s[p:], "http://") && p+7 < len(s) && urlByte(s[p+7]):
			body = p + 7
		default:
			i = p + 1
			continue
		}
		e := body + 1
		for e < len(s) && urlByte(s[e]) {
			e++
		}
		return p, e
	}
	return -1, -1
}

// urlByte reports whether c may be part of a URL in plain text.
func urlByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\f', '\r', '<', '>', '"', '\'', '(', ')', '[', ']':
		return false
	}
	return true
}

// Pixel inserts a 1×1 image loading url before the last </body> (or at
// the end when there is none). The image is hidden from screen readers
// (empty alt) and from layout.
func Pixel(src, url string) string {
	return insertPixel(src, pixelTag(url))
}

// pixelTag is the <img> of the open pixel loading url.
func pixelTag(url string) string {
	return `<img src="` + html.EscapeString(url) + `" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`
}

// insertPixel inserts img before the last </body of src, or at its end.
func insertPixel(src, img string) string {
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
