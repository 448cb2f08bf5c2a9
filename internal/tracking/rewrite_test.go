package tracking

import (
	"slices"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/store"
)

// tag maps a URL to a recognisable replacement.
func tag(u string) string {
	return "https://t.example/c/" + strings.ToUpper(u[strings.Index(u, "//")+2:])
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		mk       func(string) string
		want     string
		wantURLs []string
	}{
		{
			name:     "http and https links rewritten, rest byte-exact",
			in:       `<!DOCTYPE html><HTML><body><!--[if mso]><table><![endif]--><P CLASS=x>Hi <a href="https://a.example/x?y=1&amp;z=2" class="btn">go</a> <A HREF='http://b.example'>b</A></P></body></HTML>`,
			mk:       tag,
			want:     `<!DOCTYPE html><HTML><body><!--[if mso]><table><![endif]--><P CLASS=x>Hi <a href="https://t.example/c/A.EXAMPLE/X?Y=1&amp;Z=2" class="btn">go</a> <a href="https://t.example/c/B.EXAMPLE">b</A></P></body></HTML>`,
			wantURLs: []string{"https://a.example/x?y=1&z=2", "http://b.example"},
		},
		{
			name:     "mailto, tel, anchors and relative links skipped",
			in:       `<a href="mailto:x@example.fr">m</a><a href="tel:+33100000000">t</a><a href="#top">a</a><a href="/rel">r</a><a name="n">n</a><a>plain</a>`,
			mk:       tag,
			want:     `<a href="mailto:x@example.fr">m</a><a href="tel:+33100000000">t</a><a href="#top">a</a><a href="/rel">r</a><a name="n">n</a><a>plain</a>`,
			wantURLs: nil,
		},
		{
			name: "links the maker declines stay",
			in:   `<a href="https://t.example/u/TOKEN">unsub</a><a href="https://shop.example/">shop</a>`,
			mk: func(u string) string {
				if strings.HasPrefix(u, "https://t.example/") {
					return ""
				}
				return tag(u)
			},
			want:     `<a href="https://t.example/u/TOKEN">unsub</a><a href="https://t.example/c/SHOP.EXAMPLE/">shop</a>`,
			wantURLs: []string{"https://shop.example/"},
		},
		{
			name:     "script, style and text untouched",
			in:       `<style>a[href="http://x"]{}</style><script>var s='<a href="http://x">';</script>see http://x.example`,
			mk:       tag,
			want:     `<style>a[href="http://x"]{}</style><script>var s='<a href="http://x">';</script>see http://x.example`,
			wantURLs: nil,
		},
		{
			name:     "malformed html kept",
			in:       `<div><a href="https://a.example"  >x</div></span><p`,
			mk:       tag,
			want:     `<div><a href="https://t.example/c/A.EXAMPLE">x</div></span><p`,
			wantURLs: []string{"https://a.example"},
		},
		{
			name:     "attribute with quotes escaped",
			in:       `<a href="https://a.example/?q=%22" title='say "hi"'>x</a>`,
			mk:       func(string) string { return `https://t.example/c/"x"` },
			want:     `<a href="https://t.example/c/&#34;x&#34;" title="say &#34;hi&#34;">x</a>`,
			wantURLs: []string{"https://a.example/?q=%22"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, urls := Rewrite(tc.in, tc.mk)
			if got != tc.want {
				t.Fatalf("Rewrite =\n%s\nwant\n%s", got, tc.want)
			}
			if !slices.Equal(urls, tc.wantURLs) {
				t.Fatalf("urls = %q, want %q", urls, tc.wantURLs)
			}
		})
	}
}

func TestRewriteText(t *testing.T) {
	tests := []struct {
		name     string
		in, want string
		wantURLs []string
	}{
		{"sentence punctuation", "Voir https://a.example/x. Ou (http://b.example/y)!", "Voir https://t.example/c/A.EXAMPLE/X. Ou (https://t.example/c/B.EXAMPLE/Y)!", []string{"https://a.example/x", "http://b.example/y"}},
		{"no url", "Bonjour, à bientôt.", "Bonjour, à bientôt.", nil},
		{"own link skipped", "Désinscription : https://t.example/u/TOK", "Désinscription : https://t.example/u/TOK", nil},
	}
	mk := func(u string) string {
		if strings.HasPrefix(u, "https://t.example/") {
			return ""
		}
		return tag(u)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, urls := RewriteText(tc.in, mk)
			if got != tc.want || !slices.Equal(urls, tc.wantURLs) {
				t.Fatalf("RewriteText = %q %q, want %q %q", got, urls, tc.want, tc.wantURLs)
			}
		})
	}
}

func TestPixelInsert(t *testing.T) {
	img := `<img src="https://t.example/o/A?b=1&amp;c=2" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`
	tests := []struct {
		name, in, want string
	}{
		{"before body end", "<html><body><p>x</p></body></html>", "<html><body><p>x</p>" + img + "</body></html>"},
		{"upper case, last body", "<BODY>x</Body>y</BODY >", "<BODY>x</Body>y" + img + "</BODY >"},
		{"no body", "<p>x</p>", "<p>x</p>" + img},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pixel(tc.in, "https://t.example/o/A?b=1&c=2"); got != tc.want {
				t.Fatalf("Pixel = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLinksAndDecorate(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	l, err := NewLinks(s, "https://t.example.fr/")
	if err != nil {
		t.Fatal(err)
	}
	l.Mailto = "desabonnement@dupont.example"
	row := func(ch, purpose string) *store.LedgerRow {
		return &store.LedgerRow{ID: store.LedgerID(3, "s1", 77, ch), RunID: 3, ContactID: 77, CampaignID: "c1", StepID: "s1", Channel: ch, Purpose: purpose}
	}
	tests := []struct {
		name        string
		row         *store.LedgerRow
		wantHeaders bool
		wantCode    bool
	}{
		{"marketing email has one-click headers", row("email", "marketing"), true, false},
		{"transactional email has none", row("email", "transactional"), false, false},
		{"sms has none", row("sms", "marketing"), false, false},
		{"print has a response code and personal URL", row("print", "marketing"), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			links, code, err := l.Links(tc.row, personContact(), nil)
			if err != nil {
				t.Fatal(err)
			}
			tok, ok := strings.CutPrefix(links.Unsubscribe, "https://t.example.fr/u/")
			if !ok {
				t.Fatalf("unsubscribe URL %q", links.Unsubscribe)
			}
			c, err := s.VerifyFor(tok, PurposeUnsubscribe)
			if err != nil || c.LedgerID != tc.row.ID || c.ContactID != 77 || c.Channel != tc.row.Channel {
				t.Fatalf("unsubscribe claims %+v, %v", c, err)
			}
			vtok, _ := strings.CutPrefix(links.View, "https://t.example.fr/v/")
			if _, err := s.VerifyFor(vtok, PurposeView); err != nil {
				t.Fatalf("view token: %v", err)
			}
			if got := links.Headers["List-Unsubscribe"] != ""; got != tc.wantHeaders {
				t.Fatalf("headers = %v", links.Headers)
			}
			if tc.wantHeaders {
				want := "<" + links.Unsubscribe + ">, <mailto:desabonnement@dupont.example?subject=unsubscribe%20" + tok + ">"
				if links.Headers["List-Unsubscribe"] != want || links.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
					t.Fatalf("headers = %q", links.Headers)
				}
			}
			if (code != "") != tc.wantCode || (links.ResponseURL != "") != tc.wantCode {
				t.Fatalf("code %q, response URL %q", code, links.ResponseURL)
			}
			if tc.wantCode && (links.ResponseURL != "https://t.example.fr/r/"+code || code != l.ResponseCode(tc.row.ID)) {
				t.Fatalf("response URL %q for code %q", links.ResponseURL, code)
			}
		})
	}

	t.Run("decorate rewrites html and text, adds the pixel", func(t *testing.T) {
		r := row("email", "marketing")
		links, _, _ := l.Links(r, personContact(), nil)
		m := &channel.Message{Channel: emailch.Name, LedgerID: r.ID,
			HTML: `<html><body><a href="https://shop.example/a">a</a><a href="https://shop.example/a">again</a><a href="` + links.Unsubscribe + `">unsub</a></body></html>`,
			Text: "Shop: https://shop.example/a\nUnsubscribe: " + links.Unsubscribe}
		l.Decorate(m, r, true)
		if strings.Contains(m.HTML, `href="https://shop.example/a"`) || strings.Contains(m.Text, "https://shop.example/a") {
			t.Fatalf("original link left:\n%s\n%s", m.HTML, m.Text)
		}
		if !strings.Contains(m.HTML, `href="`+links.Unsubscribe+`"`) || !strings.Contains(m.Text, links.Unsubscribe) {
			t.Fatal("unsubscribe link was rewritten")
		}
		clicks := strings.Count(m.HTML, "https://t.example.fr/c/")
		if clicks != 2 {
			t.Fatalf("%d click links, want 2:\n%s", clicks, m.HTML)
		}
		i := strings.Index(m.HTML, "https://t.example.fr/c/")
		tok := m.HTML[i+len("https://t.example.fr/c/"):]
		tok = tok[:strings.IndexByte(tok, '"')]
		c, err := s.VerifyFor(tok, PurposeClick)
		if err != nil || c.URL != "https://shop.example/a" || c.LedgerID != r.ID {
			t.Fatalf("click claims %+v, %v", c, err)
		}
		j := strings.Index(m.HTML, `<img src="https://t.example.fr/o/`)
		if j < 0 || j > strings.Index(m.HTML, "</body>") {
			t.Fatalf("pixel missing or misplaced:\n%s", m.HTML)
		}
	})

	t.Run("decorate without open tracking adds no pixel", func(t *testing.T) {
		r := row("email", "marketing")
		m := &channel.Message{Channel: emailch.Name, HTML: "<body><a href='https://shop.example'>x</a></body>"}
		l.Decorate(m, r, false)
		if strings.Contains(m.HTML, "/o/") || !strings.Contains(m.HTML, "/c/") {
			t.Fatalf("HTML = %s", m.HTML)
		}
	})

	t.Run("decorate leaves sms alone", func(t *testing.T) {
		r := row("sms", "marketing")
		m := &channel.Message{Channel: smsch.SMS, Text: "Promo https://shop.example STOP au 36111"}
		l.Decorate(m, r, true)
		if m.Text != "Promo https://shop.example STOP au 36111" {
			t.Fatalf("Text = %q", m.Text)
		}
	})
}

func TestNewLinksErrors(t *testing.T) {
	s := newSigner(t, "a-secret-of-at-least-16-bytes")
	tests := []struct {
		name, url string
	}{
		{"relative", "/track"},
		{"no scheme", "t.example.fr"},
		{"ftp", "ftp://t.example.fr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewLinks(s, tc.url); err == nil {
				t.Fatalf("NewLinks(%q) accepted", tc.url)
			}
		})
	}
	if _, err := NewLinks(nil, "https://t.example"); err == nil {
		t.Fatal("nil signer accepted")
	}
}
