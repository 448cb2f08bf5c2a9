package tracking

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"html"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	nethtml "golang.org/x/net/html"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/store"
)

// The reference implementations below are the straightforward first
// versions of Rewrite, RewriteText, Pixel and Sign; the tests check that
// the tuned ones write exactly the same bytes.

func refRewrite(src string, mk func(url string) string) (string, []string) {
	z := nethtml.NewTokenizer(strings.NewReader(src))
	var out bytes.Buffer
	var orig []string
	for {
		tt := z.Next()
		mark := out.Len()
		raw := z.Raw()
		out.Write(raw)
		if tt == nethtml.ErrorToken {
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
			if l := strings.ToLower(link); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
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

var refTextURL = regexp.MustCompile(`https?://[^\s<>"'()\[\]]+`)

func refRewriteText(text string, mk func(url string) string) (string, []string) {
	var orig []string
	out := refTextURL.ReplaceAllStringFunc(text, func(m string) string {
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

func refPixel(src, url string) string {
	img := `<img src="` + html.EscapeString(url) + `" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`
	i := -1
	for j := len(src) - len("</body"); j >= 0; j-- {
		if strings.EqualFold(src[j:j+len("</body")], "</body") {
			i = j
			break
		}
	}
	if i < 0 {
		return src + img
	}
	return src[:i] + img + src[i:]
}

func refSign(s *Signer, c Claims) string {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	buf := []byte{tokenVersion, byte(len(s.current))}
	buf = append(buf, s.current...)
	buf = append(buf, byte(c.Purpose))
	if raw, err := hex.DecodeString(c.LedgerID); err == nil && len(raw) == 16 && hex.EncodeToString(raw) == c.LedgerID {
		buf = append(buf, 0)
		buf = append(buf, raw...)
	} else {
		buf = append(buf, 1)
		buf = appendString(buf, c.LedgerID)
	}
	buf = binary.AppendVarint(buf, c.RunID)
	buf = binary.AppendVarint(buf, c.ContactID)
	buf = appendString(buf, c.Campaign)
	buf = appendString(buf, c.Step)
	buf = appendString(buf, c.Channel)
	buf = binary.AppendVarint(buf, c.IssuedAt.Unix())
	if c.Purpose == PurposeClick {
		buf = appendString(buf, c.URL)
	}
	m := hmac.New(sha256.New, s.keys[s.current])
	m.Write(buf)
	buf = append(buf, m.Sum(nil)[:macLen]...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// htmlSamples are bodies covering what Rewrite meets: the test cases, the
// fuzz corpus, a newsletter, and random mixes of their pieces.
func htmlSamples(t *testing.T) []string {
	t.Helper()
	samples := []string{
		newsletterHTML,
		`<!DOCTYPE html><HTML><body><!--[if mso]><table><![endif]--><P CLASS=x>Hi <a href="https://a.example/x?y=1&amp;z=2" class="btn">go</a> <A HREF='http://b.example'>b</A></P></body></HTML>`,
		`<a href="mailto:x@example.fr">m</a><a href="tel:+33100000000">t</a><a href="#top">a</a><a href="/rel">r</a><a name="n">n</a><a>plain</a>`,
		`<style>a[href="http://x"]{}</style><script>var s='<a href="http://x">';</script>see http://x.example`,
		`<div><a href="https://a.example"  >x</div></span><p`,
		`<a href="https://a.example/?q=%22" title='say "hi"'>x</a>`,
		`<a href="https://shop.example/a" title="</body>">x</a>`,
		`<body><a href="https://shop.example/a" title="</BODY>">x</a></body >`,
		`<a href="https://shop.example/a"/><a/href="http://other.example/b" data-x='1' data-y=2 data-z>y</a>`,
		`<a href="https://shop.example/a" href="https://shop.example/b" HREF=" HTTPS://Shop.Example/C ">dup</a>`,
		"<a href=\"https://shop.example/a\r\nb\" title=\"x\ry\">crlf</a>",
		"<a\x00 href=\"https://shop.example/\x00\">nul</a>",
		`<a href="https://evil.example/x">data</a><a href="https://shop.example/&lt;x&gt;">esc</a>`,
		`<a href='https://t.example.fr/u/TOKEN'>unsub</a><a href=https://shop.example/ok>`,
		"",
		"<a",
		"<a href=",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzRewrite", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 2)
		v := strings.TrimSpace(lines[1])
		v = strings.TrimSuffix(strings.TrimPrefix(v, "string("), ")")
		s, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		samples = append(samples, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := slices.Clone(samples)
	pieces := []string{"<a ", "href=", `"`, "'", "https://shop.example/p", "http://evil.example", " ", ">", "</a>", "</body>", "<!--", "-->", "&amp;", "\r\n", "é", "/>", "<A HREF=", "<script>", "</script>"}
	for range 400 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			if r.IntN(3) == 0 {
				s := base[r.IntN(len(base))]
				if s != "" {
					i, j := r.IntN(len(s)), r.IntN(len(s))
					b.WriteString(s[min(i, j):max(i, j)])
				}
			} else {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
		}
		samples = append(samples, b.String())
	}
	return samples
}

// makers are link makers of each kind Decorate and Inert use.
var makers = map[string]func(string) string{
	"tag":     tag,
	"decline": func(string) string { return "" },
	"drop":    func(string) string { return dropLink },
	"mixed": func(u string) string {
		switch {
		case strings.Contains(u, "evil"):
			return dropLink
		case strings.Contains(u, "t.example.fr"):
			return ""
		}
		return `https://t.example.fr/c/"` + u + `"&'<>`
	},
}

func TestRewriteMatchesReference(t *testing.T) {
	for _, src := range htmlSamples(t) {
		for name, mk := range makers {
			got, gotURLs := Rewrite(src, mk)
			want, wantURLs := refRewrite(src, mk)
			if got != want || !slices.Equal(gotURLs, wantURLs) {
				t.Fatalf("%s on %q:\n got %q %q\nwant %q %q", name, src, got, gotURLs, want, wantURLs)
			}
		}
		for _, u := range []string{"https://t.example.fr/o/A?b=1&c=2", `x"<>'&`} {
			if got, want := Pixel(src, u), refPixel(src, u); got != want {
				t.Fatalf("Pixel on %q:\n got %q\nwant %q", src, got, want)
			}
		}
	}
}

func TestRewriteTextMatchesReference(t *testing.T) {
	samples := []string{
		newsletterText,
		"Voir https://a.example/x. Ou (http://b.example/y)!",
		"https://", "http://", "https:// x", "httpS://a", "xhttp://a.b,c;d:e!f?", "https://https://a", "http://a\vb\fc\td",
		"Désinscription : https://t.example.fr/u/TOK", "[http://a.example/[x]] <https://b.example/>", "http://\xff\xfe é",
		"https://evil.example/a http://shop.example/b?c=d&e=f.", "http:/x https//y ttp://z",
	}
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"http", "https", "://", "s", ".", ",", "!", "?", " ", "\n", "(", ")", "[", "]", "<", ">", "\"", "'", "a", "é", "\xff", "evil", "t.example.fr", "/"}
	for range 2000 {
		var b strings.Builder
		for range r.IntN(20) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		samples = append(samples, b.String())
	}
	for _, src := range samples {
		for name, mk := range makers {
			got, gotURLs := RewriteText(src, mk)
			want, wantURLs := refRewriteText(src, mk)
			if got != want || !slices.Equal(gotURLs, wantURLs) {
				t.Fatalf("%s on %q:\n got %q %q\nwant %q %q", name, src, got, gotURLs, want, wantURLs)
			}
		}
	}
}

func TestSignMatchesReference(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	s.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	ids := []string{store.LedgerID(42, "relance", 123456, "email"), "", "abc", strings.Repeat("A", 32), strings.Repeat("0f", 16), strings.Repeat("g", 32), strings.Repeat("é", 40)}
	for _, id := range ids {
		for _, p := range []Purpose{PurposeOpen, PurposeClick, PurposeUnsubscribe, PurposeView, PurposePURL} {
			c := sampleClaims(p)
			c.LedgerID = id
			for _, at := range []time.Time{{}, c.IssuedAt} {
				c.IssuedAt = at
				if got, want := s.Sign(c), refSign(s, c); got != want {
					t.Fatalf("Sign(%+v) = %q, want %q", c, got, want)
				}
			}
		}
	}
}

// refDecorate is Decorate built from the reference functions.
func refDecorate(l *Links, m *channel.Message, row *store.LedgerRow, trackOpens bool) {
	own := l.base + "/"
	mk := func(u string) string {
		if strings.HasPrefix(u, own) {
			return ""
		}
		if !l.allowed(m, u) {
			return dropLink
		}
		c := claims(PurposeClick, row)
		c.URL = u
		return l.base + "/c/" + refSign(l.signer, c)
	}
	if m.HTML != "" {
		m.HTML, _ = refRewrite(m.HTML, mk)
		if trackOpens {
			m.HTML = refPixel(m.HTML, l.base+"/o/"+refSign(l.signer, claims(PurposeOpen, row)))
		}
	}
	if m.Text != "" {
		m.Text, _ = refRewriteText(m.Text, mk)
	}
}

func TestDecorateMatchesReference(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	s.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	l, err := NewLinks(s, "https://t.example.fr")
	if err != nil {
		t.Fatal(err)
	}
	l.AllowedHosts = []string{"API.example"}
	html := htmlSamples(t)
	for i, h := range html {
		text := newsletterText
		if i%2 == 1 {
			text = "Voir https://shop.example/p?id=1 et https://evil.example/x, https://api.example/o."
		}
		for _, hosts := range [][]string{nil, {"dupont.example", "shop.example"}} {
			for _, track := range []bool{false, true} {
				got := &channel.Message{Channel: "email", HTML: h, Text: text, LinkHosts: hosts}
				want := &channel.Message{Channel: "email", HTML: h, Text: text, LinkHosts: hosts}
				l.Decorate(got, sampleRow(), track)
				refDecorate(l, want, sampleRow(), track)
				if got.HTML != want.HTML || got.Text != want.Text {
					t.Fatalf("Decorate(%q, %v, %v):\n got %q\n     %q\nwant %q\n     %q", h, hosts, track, got.HTML, got.Text, want.HTML, want.Text)
				}
			}
		}
	}
}

// FuzzRewriteMatchesReference: Rewrite, the Decorate path and RewriteText
// write what the reference implementations write, for any input.
func FuzzRewriteMatchesReference(f *testing.F) {
	f.Add(newsletterHTML)
	f.Add(`<a href="https://shop.example/a" title="</body>">x</a></body>`)
	f.Add("<a </body href=http://x>y")
	f.Fuzz(func(t *testing.T, src string) {
		for name, mk := range makers {
			got, gotURLs := Rewrite(src, mk)
			want, wantURLs := refRewrite(src, mk)
			if got != want || !slices.Equal(gotURLs, wantURLs) {
				t.Fatalf("%s: got %q %q, want %q %q", name, got, gotURLs, want, wantURLs)
			}
			var r rewriter
			r.scan(src, mk, nil)
			if got, want := r.output(src, pixelTag("https://t.example.fr/o/X")), refPixel(want, "https://t.example.fr/o/X"); got != want {
				t.Fatalf("%s with pixel: got %q, want %q", name, got, want)
			}
			gotT, gotTU := RewriteText(src, mk)
			wantT, wantTU := refRewriteText(src, mk)
			if gotT != wantT || !slices.Equal(gotTU, wantTU) {
				t.Fatalf("%s text: got %q %q, want %q %q", name, gotT, gotTU, wantT, wantTU)
			}
		}
	})
}
