package render

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The reference implementation below is the first HTMLToText; the test
// checks that the tuned one writes exactly the same text.
func refHTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var w refTextWriter
	skip := 0 // depth inside head/style/script
	pre := 0
	type link struct {
		href  string
		start int
	}
	var links []link
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.finish()
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template:
				if tt == html.StartTagToken {
					skip++
				}
			case atom.Br:
				w.lineBreak()
			case atom.Li:
				w.block(1)
				w.raw("- ")
			case atom.A:
				href := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						href = strings.TrimSpace(string(v))
					}
				}
				links = append(links, link{href: href, start: w.out.Len()})
			case atom.Pre:
				w.block(2)
				pre++
			case atom.Img:
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "alt" {
						w.text(string(v), false)
					}
				}
			case atom.Td, atom.Th:
				w.space = true
			case atom.Hr:
				w.block(2)
				w.raw("----")
				w.block(2)
			default:
				if n := refBlockNewlines(a); n > 0 {
					w.block(n)
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template:
				if skip > 0 {
					skip--
				}
			case atom.A:
				if len(links) == 0 {
					break
				}
				l := links[len(links)-1]
				links = links[:len(links)-1]
				label := strings.TrimSpace(w.out.String()[l.start:])
				if l.href != "" && !strings.HasPrefix(l.href, "#") && label != l.href &&
					strings.TrimPrefix(l.href, "mailto:") != label {
					w.text(" ("+l.href+")", false)
				}
			case atom.Pre:
				pre--
				w.block(2)
			case atom.Li:
				w.block(1)
			default:
				if n := refBlockNewlines(a); n > 0 {
					w.block(n)
				}
			}
		}
	}
}

func refBlockNewlines(a atom.Atom) int {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Blockquote, atom.Table, atom.Ul, atom.Ol, atom.Dl:
		return 2
	case atom.Div, atom.Tr, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Dt, atom.Dd, atom.Center, atom.Address, atom.Main, atom.Nav:
		return 1
	}
	return 0
}

type refTextWriter struct {
	out   strings.Builder
	nl    int  // newlines requested before the next text
	space bool // a space is due before the next text
}

func (w *refTextWriter) block(n int) { w.nl = max(w.nl, n) }

func (w *refTextWriter) lineBreak() {
	w.flush()
	w.out.WriteByte('\n')
	w.space = false
}

func (w *refTextWriter) flush() {
	if w.out.Len() == 0 {
		w.nl, w.space = 0, false
		return
	}
	if w.nl > 0 {
		cur := refTrailingNewlines(w.out.String())
		for i := cur; i < w.nl; i++ {
			w.out.WriteByte('\n')
		}
		w.nl, w.space = 0, false
		return
	}
	if w.space {
		last, _ := utf8.DecodeLastRuneInString(w.out.String())
		if last != '\n' && last != ' ' {
			w.out.WriteByte(' ')
		}
		w.space = false
	}
}

func (w *refTextWriter) raw(s string) {
	w.flush()
	w.out.WriteString(s)
}

func (w *refTextWriter) text(s string, pre bool) {
	if pre {
		w.flush()
		w.out.WriteString(s)
		return
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		if s != "" {
			w.space = true
		}
		return
	}
	if r, _ := utf8.DecodeRuneInString(s); unicode.IsSpace(r) {
		w.space = true
	}
	w.flush()
	w.out.WriteString(strings.Join(words, " "))
	if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
		w.space = true
	}
}

func (w *refTextWriter) finish() string {
	lines := strings.Split(w.out.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n")) + "\n"
}

func refTrailingNewlines(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\n'; i-- {
		n++
	}
	return n
}

func TestHTMLToTextMatchesReference(t *testing.T) {
	samples := []string{"", " ", "\u00a0x\u00a0", "<p>a  b\tc\n</p>   <p> d </p>", "<pre> a\n  b </pre>x", "é\u2003è  \xff \xfe",
		"<ul><li>a<li>b</ul><br><br>c<hr>d<td>e</td><td>f</td>", "<a href=\"https://x.example\">https://x.example</a> <a href='mailto:a@b'>a@b</a> <a href=#x>y</a>",
		"<head><title>t</title><style>p{}</style></head><body><script>x</script><img alt=\" pic \">z</body>", "  \n\n  a \t\n\t b  \n\n"}
	for _, dir := range []string{"testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.html*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, string(b))
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			l = strings.TrimSpace(l)
			if v, ok := strings.CutPrefix(l, "string("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(v, ")")); err == nil {
					samples = append(samples, s)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"<p>", "</p>", "<br>", "<pre>", "</pre>", "<li>", "<a href=\"https://a.example\">", "</a>", " ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "mot", "é", "\xff", "<h1>", "</h1>", "<td>", "<style>", "</style>", "<img alt=\"x y\">", "&nbsp;", "&amp;"}
	base := len(samples)
	for range 3000 {
		var b strings.Builder
		for range r.IntN(25) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		if r.IntN(4) == 0 && base > 0 {
			s := samples[r.IntN(base)]
			if s != "" {
				i, j := r.IntN(len(s)), r.IntN(len(s))
				b.WriteString(s[min(i, j):max(i, j)])
			}
		}
		samples = append(samples, b.String())
	}
	for _, s := range samples {
		if got, want := HTMLToText(s), refHTMLToText(s); got != want {
			t.Fatalf("HTMLToText(%q) = %q, want %q", s, got, want)
		}
	}
}

// BenchmarkHTMLToText measures deriving the text part of a newsletter.
func BenchmarkHTMLToText(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "email_fr.html.golden"))
	if err != nil {
		b.Fatal(err)
	}
	s := strings.Repeat(string(src), 3)
	b.ReportAllocs()
	for b.Loop() {
		HTMLToText(s)
	}
}

// FuzzHTMLToTextMatchesReference: HTMLToText writes what the reference
// writes, for any input.
func FuzzHTMLToTextMatchesReference(f *testing.F) {
	f.Add("<p>a  b\u00a0c</p><pre> x\n y</pre><a href=x>y</a>")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := HTMLToText(s), refHTMLToText(s); got != want {
			t.Fatalf("HTMLToText(%q) = %q, want %q", s, got, want)
		}
	})
}
