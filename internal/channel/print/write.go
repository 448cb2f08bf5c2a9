package print

import (
	"strings"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// writeText does what f.Write(h, s) does with a UTF-8 font — flowing text
// from the current position, breaking at spaces before the right margin and
// at "\n" — and writes the same cells, but decodes s once: fpdf's Write
// converts the whole string to runes for every character it looks at,
// which makes a paragraph cost its length squared and was a fifth of the
// print channel's CPU. When a character's width cannot be told apart from
// fpdf's fallbacks for glyphs the font lacks, it leaves the text to
// f.Write, so the output is the same in every case.
func writeText(f *fpdf.Fpdf, h float64, txt string) {
	s := strings.ReplaceAll(txt, "\r", "")
	rs := []rune(s)
	if len(rs) == 1 && s == " " {
		f.SetX(f.GetX() + f.GetStringWidth(s))
		return
	}
	_, fontSize := f.GetFontSize()
	missing := f.GetFontDesc("", "").MissingWidth
	cw := make([]int, len(rs))
	var buf [utf8.UTFMax]byte
	for k, c := range rs {
		if c == '\n' {
			continue
		}
		n := utf8.EncodeRune(buf[:], c)
		w := f.GetStringSymbolWidth(string(buf[:n]))
		if w == 0 || w == 500 || w == missing {
			f.Write(h, txt) // a glyph fpdf measures by a fallback: let it do the whole text
			return
		}
		cw[k] = w
	}

	pageW, _ := f.GetPageSize()
	lMargin, _, rMargin, _ := f.GetMargins()
	cMargin := f.GetCellMargin()
	w := pageW - rMargin - f.GetX()
	wmax := (w - 2*cMargin) * 1000 / fontSize
	newLine := func() {
		f.SetX(lMargin)
		w = pageW - rMargin - f.GetX()
		wmax = (w - 2*cMargin) * 1000 / fontSize
	}
	nb := len(rs)
	sep, i, j, nl := -1, 0, 0, 1
	l := 0.0
	for i < nb {
		c := rs[i]
		if c == '\n' {
			f.CellFormat(w, h, string(rs[j:i]), "", 2, "", false, 0, "")
			i++
			sep, j, l = -1, i, 0
			if nl == 1 {
				newLine()
			}
			nl++
			continue
		}
		if c == ' ' {
			sep = i
		}
		l += float64(cw[i])
		if l <= wmax {
			i++
			continue
		}
		// Automatic line break.
		if sep == -1 {
			if f.GetX() > lMargin {
				f.SetY(f.GetY() + h) // also moves x to the left margin
				w = pageW - rMargin - f.GetX()
				wmax = (w - 2*cMargin) * 1000 / fontSize
				i++
				nl++
				continue
			}
			if i == j {
				i++
			}
			f.CellFormat(w, h, string(rs[j:i]), "", 2, "", false, 0, "")
		} else {
			f.CellFormat(w, h, string(rs[j:sep]), "", 2, "", false, 0, "")
			i = sep + 1
		}
		sep, j, l = -1, i, 0
		if nl == 1 {
			newLine()
		}
		nl++
	}
	if i != j {
		f.CellFormat(l/1000*fontSize, h, string(rs[j:]), "", 0, "", false, 0, "")
	}
}

// flowText is the text flow writeBlocks uses; tests swap in f.Write to
// check that writeText lays out the same bytes.
var flowText = writeText
