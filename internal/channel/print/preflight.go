package print

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/relais-dev/relais/internal/postal"
)

// preflight checks a batch PDF the way a print shop's prepress would, from
// the file itself rather than from what the layout code meant to do: it
// must parse and validate, embed every font, have the page count of the
// manifest, and show every letter's address lines on its first page at a
// position inside the envelope window. The error says which check failed
// and for which letter sequence, never the address itself.
func preflight(path string, wantPages int, rows []manifestRow, win postal.Rect) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	conf := pdfConf()
	conf.Cmd = model.LISTINFO
	ctx, err := api.ReadAndValidate(bytes.NewReader(data), conf)
	if err != nil {
		return fmt.Errorf("preflight: invalid PDF: %w", err)
	}
	if err := api.OptimizeContext(ctx); err != nil {
		return fmt.Errorf("preflight: read fonts: %w", err)
	}
	if len(ctx.Optimize.FontObjects) == 0 {
		return fmt.Errorf("preflight: no font found")
	}
	for _, fo := range ctx.Optimize.FontObjects {
		if !fo.Embedded {
			return fmt.Errorf("preflight: font %s is not embedded", fo.FontName)
		}
	}
	if ctx.PageCount != wantPages {
		return fmt.Errorf("preflight: %d pages, manifest says %d", ctx.PageCount, wantPages)
	}
	if wantPages%2 != 0 {
		return fmt.Errorf("preflight: odd page count %d for duplex printing", wantPages)
	}
	pages, err := pageDicts(ctx.XRefTable)
	if err != nil {
		return fmt.Errorf("preflight: page tree: %w", err)
	}
	if len(pages) != ctx.PageCount {
		return fmt.Errorf("preflight: page tree has %d pages, PDF says %d", len(pages), ctx.PageCount)
	}
	for _, r := range rows {
		if r.First%2 != 1 {
			return fmt.Errorf("preflight: letter %d starts on verso page %d", r.Seq, r.First)
		}
		if r.First < 1 || r.First > len(pages) {
			return fmt.Errorf("preflight: letter %d: no page %d", r.Seq, r.First)
		}
		content, err := ctx.PageContent(pages[r.First-1], r.First)
		if err != nil && err != model.ErrNoContent {
			return fmt.Errorf("preflight: letter %d: page %d content: %w", r.Seq, r.First, err)
		}
		if err := checkAddress(content, r, win); err != nil {
			return err
		}
	}
	return nil
}

// pageDicts returns the page dictionaries in page order, walking the page
// tree once: looking each page up from the root (pdfcpu's PageDict) costs
// a walk of the tree per letter, quadratic in the batch size.
func pageDicts(xt *model.XRefTable) ([]types.Dict, error) {
	root, err := xt.Pages()
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, fmt.Errorf("no page tree")
	}
	var out []types.Dict
	var walk func(o types.Object, depth int) error
	walk = func(o types.Object, depth int) error {
		if depth > 64 {
			return fmt.Errorf("page tree deeper than 64 levels")
		}
		d, err := xt.DereferenceDict(o)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("missing page tree node")
		}
		if t := d.Type(); t == nil || *t != "Pages" {
			out = append(out, d)
			return nil
		}
		kids, err := xt.DereferenceArray(d["Kids"])
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(*root, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// checkAddress finds each address line of r in the page content and checks
// that its text box lies inside the window. The same text may also be
// printed elsewhere on the page: the sender's block of a local recipient
// ends with the same "69003 LYON" line. Only the recipient's block counts,
// so a line passes when one of its occurrences is inside the window, and
// fails when it is shown only outside.
func checkAddress(content []byte, r manifestRow, win postal.Rect) error {
	shown := TextRuns(content)
	for i, want := range r.addr.Lines {
		var outside *TextRun
		inside := false
		for k, t := range shown {
			if t.Text != want.Text {
				continue
			}
			asc := addrFont * ptToMM
			if win.Contains(t.X, t.Y) && win.Contains(t.X+want.W, t.Y-asc) {
				inside = true
				break
			}
			if outside == nil {
				outside = &shown[k]
			}
		}
		switch {
		case inside:
		case outside != nil:
			return fmt.Errorf("preflight: letter %d: address line %d at (%.1f, %.1f) mm is outside the window", r.Seq, i+1, outside.X, outside.Y)
		default:
			return fmt.Errorf("preflight: letter %d: address line %d not found on page %d", r.Seq, i+1, r.First)
		}
	}
	return nil
}

// TextRun is a string shown on a page, with its baseline origin in
// millimetres from the top-left corner of an A4 page.
type TextRun struct {
	X, Y float64
	Text string
}

// TextRuns extracts the text shown by "BT x y Td (…) Tj ET" sequences of a
// page content stream, the form fpdf writes, decoding the UTF-16BE strings
// of its Unicode fonts. Text shown by other operators is ignored; this is
// a reader for our own output, not a general PDF text extractor.
func TextRuns(content []byte) []TextRun {
	var out []TextRun
	for i := 0; ; {
		j := bytes.Index(content[i:], []byte("BT "))
		if j < 0 {
			return out
		}
		i += j + 3
		// Two numbers, then "Td".
		var nums [2]float64
		ok := true
		for k := range nums {
			i = skipSpace(content, i)
			s := i
			for i < len(content) && (content[i] == '.' || content[i] == '-' || (content[i] >= '0' && content[i] <= '9')) {
				i++
			}
			v, err := strconv.ParseFloat(string(content[s:i]), 64)
			if err != nil {
				ok = false
				break
			}
			nums[k] = v
		}
		if !ok {
			continue
		}
		i = skipSpace(content, i)
		if !bytes.HasPrefix(content[i:], []byte("Td")) {
			continue
		}
		i = skipSpace(content, i+2)
		if i >= len(content) || content[i] != '(' {
			continue
		}
		str, end := literal(content, i+1)
		i = end
		out = append(out, TextRun{
			X:    nums[0] / 72 * 25.4,
			Y:    pageH - nums[1]/72*25.4,
			Text: decodeText(str),
		})
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// literal reads a PDF literal string starting after its "(" and returns
// its bytes and the index after the closing ")".
func literal(b []byte, i int) ([]byte, int) {
	var out []byte
	depth := 0
	for i < len(b) {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b):
			i++
			switch e := b[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := 0
					k := 0
					for ; k < 3 && i < len(b) && b[i] >= '0' && b[i] <= '7'; k++ {
						v = v*8 + int(b[i]-'0')
						i++
					}
					out = append(out, byte(v))
					continue
				}
				out = append(out, e)
			}
		case c == '(':
			depth++
			out = append(out, c)
		case c == ')':
			if depth == 0 {
				return out, i + 1
			}
			depth--
			out = append(out, c)
		default:
			out = append(out, c)
		}
		i++
	}
	return out, i
}

// decodeText decodes fpdf's UTF-16BE strings (Unicode fonts); other
// strings are returned as bytes.
func decodeText(b []byte) string {
	if len(b)%2 != 0 || len(b) == 0 {
		return string(b)
	}
	u := make([]uint16, len(b)/2)
	for k := range u {
		u[k] = uint16(b[2*k])<<8 | uint16(b[2*k+1])
	}
	return string(utf16.Decode(u))
}
