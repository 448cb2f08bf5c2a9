package render

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText derives a readable plain-text alternative from an HTML email:
// paragraphs and headings separated by blank lines, <br> as line breaks,
// list items as "- item", links as "text (url)", and nothing from <head>,
// <style> or <script>. Whitespace is collapsed as a browser would, except
// inside <pre>.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var w textWriter
	w.out.Grow(len(s) / 2)
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
				w.text(z.Text(), pre > 0)
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
						w.text(v, false)
					}
				}
			case atom.Td, atom.Th:
				w.space = true
			case atom.Hr:
				w.block(2)
				w.raw("----")
				w.block(2)
			default:
				if n := blockNewlines(a); n > 0 {
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
					w.text([]byte(" ("+l.href+")"), false)
				}
			case atom.Pre:
				pre--
				w.block(2)
			case atom.Li:
				w.block(1)
			default:
				if n := blockNewlines(a); n > 0 {
					w.block(n)
				}
			}
		}
	}
}

// blockNewlines is the number of line breaks a block element puts around
// itself: 2 (blank line) for paragraphs and headings, 1 for containers.
func blockNewlines(a atom.Atom) int {
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

// textWriter accumulates text, turning requested breaks into at most one
// blank line and collapsing whitespace.
type textWriter struct {
	out   strings.Builder
	nl    int  // newlines requested before the next text
	space bool // a space is due before the next text
}

func (w *textWriter) block(n int) { w.nl = max(w.nl, n) }

func (w *textWriter) lineBreak() {
	w.flush()
	w.out.WriteByte('\n')
	w.space = false
}

func (w *textWriter) flush() {
	if w.out.Len() == 0 {
		w.nl, w.space = 0, false
		return
	}
	if w.nl > 0 {
		cur := trailingNewlines(w.out.String())
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

func (w *textWriter) raw(s string) {
	w.flush()
	w.out.WriteString(s)
}

// text writes s, its runs of white space collapsed to one space (kept
// as they are when pre is set).
func (w *textWriter) text(s []byte, pre bool) {
	if pre {
		w.flush()
		w.out.Write(s)
		return
	}
	word, rest := nextWord(s)
	if word == nil {
		if len(s) > 0 {
			w.space = true
		}
		return
	}
	if r, _ := utf8.DecodeRune(s); unicode.IsSpace(r) {
		w.space = true
	}
	w.flush()
	w.out.Write(word)
	for {
		if word, rest = nextWord(rest); word == nil {
			break
		}
		w.out.WriteByte(' ')
		w.out.Write(word)
	}
	if r, _ := utf8.DecodeLastRune(s); unicode.IsSpace(r) {
		w.space = true
	}
}

// nextWord returns the first run of s that is not white space (as
// strings.Fields splits) and what follows it; word is nil when there is
// none.
func nextWord(s []byte) (word, rest []byte) {
	start := -1
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		if unicode.IsSpace(r) {
			if start >= 0 {
				return s[start:i], s[i:]
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start < 0 {
		return nil, nil
	}
	return s[start:], nil
}

// finish returns the text: every line without its trailing spaces and
// tabs, the whole without leading or trailing white space, and one final
// line break.
func (w *textWriter) finish() string {
	s := w.out.String()
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			b.WriteString(strings.TrimRight(s, " \t"))
			break
		}
		b.WriteString(strings.TrimRight(s[:i], " \t"))
		b.WriteByte('\n')
		s = s[i+1:]
	}
	return strings.TrimSpace(b.String()) + "\n"
}

func trailingNewlines(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\n'; i-- {
		n++
	}
	return n
}

// ContainsOptOut reports whether an SMS text carries the opt-out mention
// French operators require of marketing messages: the word STOP standing
// alone, in any case ("STOP 36180", "Stop au 36xxx", "répondez STOP").
// "STOPPER" or "nonstop" do not count.
func ContainsOptOut(text string) bool {
	lower := strings.ToLower(text)
	for i := 0; ; {
		k := strings.Index(lower[i:], "stop")
		if k < 0 {
			return false
		}
		start, end := i+k, i+k+4
		before, _ := utf8.DecodeLastRuneInString(lower[:start])
		after, _ := utf8.DecodeRuneInString(lower[end:])
		if (start == 0 || !isWordRune(before)) && (end == len(lower) || !unicode.IsLetter(after)) {
			return true
		}
		i = end
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
