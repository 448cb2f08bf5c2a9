package print

import "strings"

// Text styles of a run, as fpdf font styles.
const (
	styleRegular = ""
	styleBold    = "B"
	styleItalic  = "I"
)

// run is a piece of text in one style.
type run struct {
	Text  string
	Style string
}

// block is a paragraph or one bullet item.
type block struct {
	Bullet bool
	Runs   []run
}

// body is a parsed letter: the paragraphs before the signature and the
// postscript printed after it, where readers of a letter expect it.
type body struct {
	Blocks []block
	PS     []block
}

// parseBody reads the letter template's light markup: paragraphs separated
// by blank lines, "- " bullets, **bold**, *italic*, and a paragraph starting
// with "P.S." (or "PS", "P.-S.") moved after the signature. Lines of one
// paragraph are joined with a space, so template line breaks do not show.
func parseBody(text string) body {
	var b body
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, para := range strings.Split(text, "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		dst := &b.Blocks
		if isPS(para) {
			dst = &b.PS
		}
		var cur []string
		flush := func() {
			if len(cur) > 0 {
				*dst = append(*dst, block{Runs: parseInline(strings.Join(cur, " "))})
				cur = nil
			}
		}
		for _, line := range strings.Split(para, "\n") {
			t := strings.TrimSpace(line)
			if t == "" {
				continue
			}
			if strings.HasPrefix(t, "- ") {
				flush()
				*dst = append(*dst, block{Bullet: true, Runs: parseInline(strings.TrimSpace(t[2:]))})
				continue
			}
			cur = append(cur, t)
		}
		flush()
	}
	return b
}

func isPS(p string) bool {
	p = strings.TrimLeft(p, " *")
	for _, pre := range []string{"P.S.", "P.-S.", "PS :", "PS:", "P.S :", "P.S:"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// parseInline splits s into runs on ** (bold) and * (italic) markers; an
// unclosed marker styles the rest of the paragraph, which is what a
// reader of the template would expect to see.
func parseInline(s string) []run {
	var runs []run
	bold, italic := false, false
	var cur strings.Builder
	emit := func() {
		if cur.Len() == 0 {
			return
		}
		st := styleRegular
		switch {
		case bold:
			st = styleBold
		case italic:
			st = styleItalic
		}
		runs = append(runs, run{Text: cur.String(), Style: st})
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '*' {
			cur.WriteByte(s[i])
			continue
		}
		emit()
		if i+1 < len(s) && s[i+1] == '*' {
			bold = !bold
			i++
		} else {
			italic = !italic
		}
	}
	emit()
	return runs
}

// plain returns the text of runs without markup.
func plain(runs []run) string {
	var b strings.Builder
	for _, r := range runs {
		b.WriteString(r.Text)
	}
	return b.String()
}
