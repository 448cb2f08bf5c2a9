package print

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
)

// TestWriteTextSameAsFpdf lays letters out with writeText and with fpdf's
// own Write: the PDFs must be the same bytes, for ordinary paragraphs,
// bullets, words longer than a line, "\n" inside a run, and characters the
// font lacks (where writeText hands the text to fpdf).
func TestWriteTextSameAsFpdf(t *testing.T) {
	long := strings.Repeat("anticonstitutionnellement", 12)
	bodies := []string{
		testBody,
		"Un paragraphe court.",
		"Un mot trop long : " + long + " puis la suite du texte, qui continue sur plusieurs lignes pour voir la coupure aux espaces.",
		long,
		"- " + long + "\n- puce **grasse** et *italique* " + strings.Repeat("mot ", 60),
		"Ligne avec un caractère absent de la police : 中 et du texte après, " + strings.Repeat("encore ", 40),
		"Espaces   multiples   " + strings.Repeat("x ", 200),
		" ",
		"P.S. Un post-scriptum " + strings.Repeat("très long ", 30),
	}
	defer func() { flowText = writeText }()
	for k, body := range bodies {
		var out [2][]byte
		for v, fn := range []func(*fpdf.Fpdf, float64, string){writeText, func(f *fpdf.Fpdf, h float64, s string) { f.Write(h, s) }} {
			flowText = fn
			m := testMessage(t, "w", k)
			m.Text = body
			var buf bytes.Buffer
			if err := RenderOne(context.Background(), m, testLayout, &buf); err != nil {
				t.Fatal(err)
			}
			out[v] = buf.Bytes()
		}
		if !bytes.Equal(out[0], out[1]) {
			t.Fatalf("body %d: writeText and fpdf's Write give different PDFs", k)
		}
	}
	// The same with a raw "\n" inside one run, which the body parser never
	// produces, and a narrow column.
	for _, s := range []string{"a\nb\n\nc " + long, long + "\n" + long, "fin\n"} {
		var out [2][]byte
		for v, fn := range []func(*fpdf.Fpdf, float64, string){writeText, func(f *fpdf.Fpdf, h float64, s string) { f.Write(h, s) }} {
			f := newDoc(testLayout)
			f.AddPage()
			f.SetFont(family, styleRegular, 10.5)
			f.SetX(150)
			fn(f, 5, s)
			f.SetLeftMargin(60)
			fn(f, 5, s)
			var buf bytes.Buffer
			if err := f.Output(&buf); err != nil {
				t.Fatal(err)
			}
			out[v] = buf.Bytes()
		}
		if !bytes.Equal(out[0], out[1]) {
			t.Fatalf("%q: writeText and fpdf's Write give different PDFs", s)
		}
	}
}
