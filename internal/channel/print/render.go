package print

import (
	_ "embed"
	"fmt"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/relais-dev/relais/internal/postal"
)

// The DejaVu fonts (Bitstream Vera licence, see fonts/LICENSE) are embedded
// so that every PDF carries its fonts: print shops reject PDFs that rely on
// the printer's fonts, and the built-in PDF fonts cannot write œ or €.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
	//go:embed fonts/DejaVuSans-Oblique.ttf
	fontOblique []byte
)

const (
	family      = "DejaVu"
	ptToMM      = 25.4 / 72
	addrFont    = 10.0 // points; large enough for La Poste's OCR
	addrLineH   = 4.4  // millimetres
	addrPadding = 5.0  // millimetres between the window edge and the text
	couponH     = 66.0 // millimetres reserved at the foot of the last page
	qrSize      = 30.0 // millimetres
)

// fixedDate makes output reproducible (same input, same bytes), which the
// golden tests and print shops' duplicate checks both like.
var fixedDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// newDoc creates an A4 document with the embedded fonts registered.
func newDoc(lay postal.Layout) *fpdf.Fpdf {
	f := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", SizeStr: "A4", OrientationStr: "P"})
	f.AddUTF8FontFromBytes(family, styleRegular, fontRegular)
	f.AddUTF8FontFromBytes(family, styleBold, fontBold)
	f.AddUTF8FontFromBytes(family, styleItalic, fontOblique)
	f.SetMargins(lay.MarginLeft, lay.MarginTop, lay.MarginRight)
	f.SetAutoPageBreak(true, lay.MarginBottom)
	f.SetCreationDate(fixedDate)
	f.SetModificationDate(fixedDate)
	f.SetProducer("relais", true)
	f.SetCatalogSort(true)  // fonts and images in a fixed order: same input, same bytes
	f.SetCompression(false) // zlib per page costs a third of the time; print PDFs are big anyway
	return f
}

// placed records where a letter's address landed, for the preflight.
type placed struct {
	Pages int
	// Lines are the address lines with the baseline origin of each, in
	// millimetres from the top-left corner of the first page.
	Lines []placedLine
}

type placedLine struct {
	Text string
	X, Y float64 // baseline origin
	W    float64 // text width
}

// renderLetter appends l to f starting on a new page and returns the number
// of pages it used and where the address went. It does not pad to an even
// page count; the batch assembler does.
func renderLetter(f *fpdf.Fpdf, l *letter, lay postal.Layout) (placed, error) {
	start := f.PageCount()
	f.AddPage()
	wd := l.words()
	fs := lay.FontSize
	lh := fs * ptToMM * 1.3
	f.SetTextColor(0, 0, 0)
	f.SetDrawColor(0, 0, 0)

	drawLetterhead(f, l, lay)
	if *lay.FoldMarks {
		f.SetLineWidth(0.2)
		f.Line(4, 99, 8, 99)
		f.Line(4, 198, 8, 198)
	}

	// Address block, top-left aligned inside the window.
	win := lay.WindowRect
	var p placed
	f.SetFont(family, styleRegular, addrFont)
	y := win.Y + addrPadding + addrFont*ptToMM
	for _, line := range l.Address {
		w := f.GetStringWidth(line)
		x := win.X + addrPadding
		f.Text(x, y, line)
		p.Lines = append(p.Lines, placedLine{Text: line, X: x, Y: y, W: w})
		y += addrLineH
	}
	for _, pl := range p.Lines {
		if !win.Contains(pl.X, pl.Y) || !win.Contains(pl.X+pl.W, pl.Y-addrFont*ptToMM) {
			return p, fmt.Errorf("print: address line of %.1f mm does not fit the %.0f×%.0f mm window", pl.W, win.W, win.H)
		}
	}

	// Place and date, right-aligned below the window.
	f.SetFont(family, styleRegular, fs)
	f.SetXY(lay.MarginLeft, max(win.Y+win.H+3, f.GetY()))
	f.CellFormat(0, lh, l.DateLine, "", 1, "R", false, 0, "")
	f.Ln(lh * 0.5)
	if l.Subject != "" {
		f.SetFont(family, styleBold, fs)
		f.MultiCell(0, lh, wd.Subject+l.Subject, "", "L", false)
		f.Ln(lh * 0.6)
	}
	f.SetFont(family, styleRegular, fs)
	f.MultiCell(0, lh, l.Salutation, "", "L", false)
	f.Ln(lh * 0.6)

	b := parseBody(l.Body)
	writeBlocks(f, b.Blocks, lay, lh)

	// Signature, in the right half as French letters have it.
	if lay.Signature.Name != "" || lay.Signature.Role != "" {
		f.Ln(lh * 0.3)
		sx := lay.MarginLeft + (pageW-lay.MarginLeft-lay.MarginRight)*0.55
		if lay.Signature.Name != "" {
			f.SetX(sx)
			f.SetFont(family, styleBold, fs)
			f.CellFormat(0, lh, lay.Signature.Name, "", 1, "L", false, 0, "")
		}
		if lay.Signature.Role != "" {
			f.SetX(sx)
			f.SetFont(family, styleRegular, fs)
			f.CellFormat(0, lh, lay.Signature.Role, "", 1, "L", false, 0, "")
		}
	}
	if len(b.PS) > 0 {
		f.Ln(lh * 0.6)
		writeBlocks(f, b.PS, lay, lh)
	}

	// Foot of the last page: opt-out mention, then the coupon.
	foot := pageH - lay.MarginBottom
	if l.ResponseCode != "" {
		foot -= couponH
	}
	optH := 0.0
	if l.Marketing {
		optH = 8
	}
	if f.GetY() > foot-optH-2 {
		f.SetAutoPageBreak(false, 0)
		f.AddPage()
		f.SetAutoPageBreak(true, lay.MarginBottom)
	}
	if l.Marketing {
		f.SetFont(family, styleItalic, 7.5)
		f.SetTextColor(80, 80, 80)
		f.SetXY(lay.MarginLeft, foot-optH)
		text := wd.OptOut
		if lay.OptOut != "" {
			text = lay.OptOut
		}
		f.MultiCell(0, 3.2, text, "", "L", false)
		f.SetTextColor(0, 0, 0)
	}
	if l.ResponseCode != "" {
		if err := drawCoupon(f, l, lay, pageH-lay.MarginBottom-couponH); err != nil {
			return p, err
		}
	}
	if err := f.Error(); err != nil {
		return p, fmt.Errorf("print: lay out letter: %w", err)
	}
	p.Pages = f.PageCount() - start
	return p, nil
}

func drawLetterhead(f *fpdf.Fpdf, l *letter, lay postal.Layout) {
	name, lines := lay.Letterhead.Name, lay.Letterhead.Lines
	if name == "" && len(l.Sender) > 0 {
		name, lines = l.Sender[0], l.Sender[1:]
	}
	limit := lay.WindowRect.Y - 2
	if lay.WindowRect.X > pageW/2 {
		limit = pageH / 3 // window on the right: the left column is free
	}
	y := lay.MarginTop + 4
	if name != "" {
		f.SetFont(family, styleBold, 12)
		f.Text(lay.MarginLeft, y, name)
		y += 5
	}
	f.SetFont(family, styleRegular, 8.5)
	f.SetTextColor(60, 60, 60)
	for _, s := range lines {
		if y > limit {
			break
		}
		f.Text(lay.MarginLeft, y, s)
		y += 3.8
	}
	f.SetTextColor(0, 0, 0)
	if lay.Letterhead.Logo != "" {
		w := lay.Letterhead.LogoWidth
		f.ImageOptions(lay.Letterhead.Logo, pageW-lay.MarginRight-w, lay.MarginTop, w, 0, false,
			fpdf.ImageOptions{ReadDpi: true}, 0, "")
	}
	f.SetY(y)
}

// writeBlocks writes paragraphs and bullets with inline styles.
func writeBlocks(f *fpdf.Fpdf, blocks []block, lay postal.Layout, lh float64) {
	fs := lay.FontSize
	for i, bl := range blocks {
		if bl.Bullet {
			f.SetFont(family, styleRegular, fs)
			f.SetX(lay.MarginLeft + 2)
			flowText(f, lh, "•")
			f.SetLeftMargin(lay.MarginLeft + 7)
			f.SetX(lay.MarginLeft + 7)
		} else {
			f.SetX(lay.MarginLeft)
		}
		for _, r := range bl.Runs {
			f.SetFont(family, r.Style, fs)
			flowText(f, lh, r.Text)
		}
		f.SetLeftMargin(lay.MarginLeft)
		f.Ln(lh)
		// Bullets of one list stay together; paragraphs get air.
		if !(bl.Bullet && i+1 < len(blocks) && blocks[i+1].Bullet) {
			f.Ln(lh * 0.5)
		}
	}
}

// drawCoupon draws the reply coupon from y (millimetres from the top) to
// the bottom margin: a dashed cut line, the response code in large type,
// the recipient, a QR code of the personal URL and the return address.
func drawCoupon(f *fpdf.Fpdf, l *letter, lay postal.Layout, top float64) error {
	wd := l.words()
	f.SetDrawColor(90, 90, 90)
	f.SetLineWidth(0.3)
	f.SetDashPattern([]float64{2, 1.5}, 0)
	f.Line(8, top, pageW-8, top)
	f.SetDashPattern(nil, 0)
	f.SetFont(family, styleRegular, 11)
	f.Text(10, top+1.3, "✂")
	f.SetDrawColor(0, 0, 0)

	x := lay.MarginLeft
	f.SetFont(family, styleBold, 13)
	f.Text(x, top+9, wd.Coupon)
	f.SetFont(family, styleRegular, 8.5)
	f.Text(x, top+16, wd.CodeLabel)
	f.SetFont(family, styleBold, 20)
	f.Text(x, top+24, l.ResponseCode)
	f.SetFont(family, styleRegular, fs10)
	f.Text(x, top+31, l.Name)

	// Return address block.
	ret, label := l.Sender, wd.ReturnTo
	if len(lay.ReplyEnvelope) > 0 {
		ret, label = lay.ReplyEnvelope, wd.ReplyFree
	}
	f.SetFont(family, styleItalic, 8.5)
	f.Text(x, top+40, label)
	f.SetFont(family, styleRegular, 9)
	y := top + 44.5
	for i, s := range ret {
		if i == 5 {
			break // the coupon has room for a postal block, not more
		}
		f.Text(x, y, s)
		y += 4
	}

	if l.ResponseURL != "" {
		qx := pageW - lay.MarginRight - qrSize
		f.SetFont(family, styleRegular, 7.5)
		f.SetXY(qx-20, top+4)
		f.MultiCell(qrSize+20, 3.2, wd.OnlineLabel, "", "R", false)
		if err := drawQR(f, l, qx, top+16, qrSize); err != nil {
			return err
		}
	}
	return nil
}

const fs10 = 10.0

// drawQR draws the QR code of s as filled vector rectangles, one per run of
// dark modules in a row: a PNG per letter would cost a decode and an image
// object per page and cut throughput by a factor of five.
func drawQR(f *fpdf.Fpdf, l *letter, x, y, size float64) error {
	bm := l.qr
	if bm == nil {
		var err error
		if bm, err = qrBitmap(l.ResponseURL); err != nil {
			return err
		}
	}
	n := float64(len(bm))
	m := size / n
	f.SetFillColor(0, 0, 0)
	for r, row := range bm {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			c0 := c
			for c < len(row) && row[c] {
				c++
			}
			f.Rect(x+float64(c0)*m, y+float64(r)*m, float64(c-c0)*m, m, "F")
		}
	}
	return nil
}

// qrBitmap encodes s at error correction level M (15 %), enough for a
// printed code that gets folded, without a border: the white paper around
// the code is its quiet zone.
func qrBitmap(s string) ([][]bool, error) {
	q, err := qrcode.New(s, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("print: QR code: %w", err)
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}
