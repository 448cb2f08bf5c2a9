package postal

import (
	"fmt"
	"strings"
)

// Page geometry of A4 in millimetres, the only paper size print shops in
// France expect for letters.
const (
	PageWidth  = 210.0
	PageHeight = 297.0
)

// Rect is a rectangle on the page in millimetres, X from the left edge and
// Y from the top edge of the sheet.
type Rect struct {
	X float64 `yaml:"x" json:"x"`
	Y float64 `yaml:"y" json:"y"`
	W float64 `yaml:"w" json:"w"`
	H float64 `yaml:"h" json:"h"`
}

// Contains reports whether the point (x, y) lies inside r.
func (r Rect) Contains(x, y float64) bool {
	return x >= r.X && x <= r.X+r.W && y >= r.Y && y <= r.Y+r.H
}

// WindowPresets are the envelope windows relais knows, as the area of the
// A4 sheet that shows through once folded and inserted. No single standard
// fixes them (envelope makers differ by a few millimetres), so a Layout may
// override any preset with its own WindowRect; check a preset against the
// envelopes actually bought before a large run.
//   - "DL": DL envelope (110×220 mm, sheet folded in three), left window
//     100×45 mm, 20 mm from the left edge and 50 mm from the top.
//   - "DL-R": the same envelope with the window on the right, common in
//     France: 100×45 mm, 95 mm from the left edge and 50 mm from the top.
//   - "C5": C5 envelope (162×229 mm, sheet folded once), left window
//     100×45 mm, 20 mm from the left edge and 55 mm from the top.
var WindowPresets = map[string]Rect{
	"DL":   {X: 20, Y: 50, W: 100, H: 45},
	"DL-R": {X: 95, Y: 50, W: 100, H: 45},
	"C5":   {X: 20, Y: 55, W: 100, H: 45},
}

// Letterhead is the sender's identity printed at the top of every letter.
type Letterhead struct {
	// Name is printed in bold; empty uses the message's first postal line.
	Name string `yaml:"name"`
	// Lines follow the name (address, phone, web site).
	Lines []string `yaml:"lines"`
	// Logo is an optional PNG or JPEG file drawn at the top right,
	// LogoWidth millimetres wide (default 35).
	Logo      string  `yaml:"logo"`
	LogoWidth float64 `yaml:"logo_width"`
}

// Signature closes the letter.
type Signature struct {
	Name string `yaml:"name"`
	Role string `yaml:"role"`
}

// Layout is the page design of a letter. Zero fields take the defaults of
// DefaultLayout when passed through Normalize (print.NewBatcher and print.RenderOne do).
type Layout struct {
	// Paper is the sheet size; only "A4" (the default) is supported.
	Paper string `yaml:"paper"`
	// Margins in millimetres; defaults 20 left and right, 15 top, 15 bottom.
	MarginLeft   float64 `yaml:"margin_left"`
	MarginRight  float64 `yaml:"margin_right"`
	MarginTop    float64 `yaml:"margin_top"`
	MarginBottom float64 `yaml:"margin_bottom"`
	// Window names a preset of WindowPresets (default "DL").
	Window string `yaml:"window"`
	// WindowRect, when its width is not zero, replaces the preset.
	WindowRect Rect `yaml:"window_rect"`
	// Letterhead printed at the top of the first page.
	Letterhead Letterhead `yaml:"letterhead"`
	// Place is the town written before the date ("Lyon, le 20 mars 2027");
	// empty prints the date alone.
	Place string `yaml:"place"`
	// Signature printed after the body.
	Signature Signature `yaml:"signature"`
	// FontSize of the body in points (default 10.5).
	FontSize float64 `yaml:"font_size"`
	// FoldMarks prints short marks in the left margin where the sheet is
	// folded for a DL envelope (default true via DefaultLayout).
	FoldMarks *bool `yaml:"fold_marks"`
	// OptOut overrides the opt-out line printed at the foot of marketing
	// letters; the default names the sender's postal address.
	OptOut string `yaml:"opt_out"`
	// ReplyEnvelope, when set, is printed on the reply coupon instead of the
	// sender's postal block, e.g. "Libre réponse 12345 – 69009 LYON CEDEX"
	// for an "enveloppe T".
	ReplyEnvelope []string `yaml:"reply_envelope"`
}

// DefaultLayout returns the defaults documented on Layout.
func DefaultLayout() Layout {
	yes := true
	return Layout{
		Paper: "A4", MarginLeft: 20, MarginRight: 20, MarginTop: 15, MarginBottom: 15,
		Window: "DL", FontSize: 10.5, FoldMarks: &yes,
	}
}

// Normalize fills zero fields with defaults and checks the result: an
// unknown paper or window preset, a window outside the sheet, or a font
// size outside 7–16 pt is an error.
func (l Layout) Normalize() (Layout, error) {
	d := DefaultLayout()
	if l.Paper == "" {
		l.Paper = d.Paper
	}
	if !strings.EqualFold(l.Paper, "A4") {
		return l, fmt.Errorf("print layout: paper %q not supported (A4 only)", l.Paper)
	}
	for _, m := range []struct {
		v   *float64
		def float64
	}{
		{&l.MarginLeft, d.MarginLeft}, {&l.MarginRight, d.MarginRight},
		{&l.MarginTop, d.MarginTop}, {&l.MarginBottom, d.MarginBottom},
	} {
		if *m.v == 0 {
			*m.v = m.def
		}
	}
	if l.Window == "" {
		l.Window = d.Window
	}
	if l.WindowRect.W == 0 {
		r, ok := WindowPresets[strings.ToUpper(l.Window)]
		if !ok {
			return l, fmt.Errorf("print layout: unknown window preset %q (DL, DL-R, C5 or window_rect)", l.Window)
		}
		l.WindowRect = r
	}
	w := l.WindowRect
	if w.W < 60 || w.H < 30 || w.X < 0 || w.Y < 0 || w.X+w.W > PageWidth || w.Y+w.H > PageHeight/2 {
		return l, fmt.Errorf("print layout: window %+v must be at least 60×30 mm and lie in the top half of the sheet", w)
	}
	if l.FontSize == 0 {
		l.FontSize = d.FontSize
	}
	if l.FontSize < 7 || l.FontSize > 16 {
		return l, fmt.Errorf("print layout: font size %.1f outside 7–16 pt", l.FontSize)
	}
	if l.FoldMarks == nil {
		l.FoldMarks = d.FoldMarks
	}
	if l.Letterhead.LogoWidth == 0 {
		l.Letterhead.LogoWidth = 35
	}
	return l, nil
}
