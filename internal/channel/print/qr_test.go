package print

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestQRCodeDecodesFromPage rasterizes a rendered letter like a phone
// camera would see it and decodes the vector QR code back.
func TestQRCodeDecodesFromPage(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		testenv.Missing(t, "pdftoppm", "poppler-utils rasterizes the page to decode its QR code")
	}
	tests := []struct {
		name string
		idx  int
	}{
		{name: "person", idx: 0},
		{name: "business", idx: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := testMessage(t, "qr", tt.idx)
			var buf bytes.Buffer
			if err := RenderOne(context.Background(), m, testLayout, &buf); err != nil {
				t.Fatal(err)
			}
			pdf := filepath.Join(dir, "letter.pdf")
			if err := os.WriteFile(pdf, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdftoppm", "-png", "-r", "150", "-singlefile", "-f", "1", "-l", "1", pdf, filepath.Join(dir, "page1")).CombinedOutput()
			if err != nil {
				t.Fatalf("pdftoppm: %v: %s", err, out)
			}
			img := readPNG(t, filepath.Join(dir, "page1.png"))
			if dst := os.Getenv("PRINT_SAMPLE_PNG"); dst != "" && tt.idx == 0 {
				data, _ := os.ReadFile(filepath.Join(dir, "page1.png"))
				_ = os.WriteFile(dst, data, 0o644)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
			if err != nil {
				t.Fatalf("decode QR: %v", err)
			}
			if res.GetText() != m.ResponseURL {
				t.Fatalf("QR = %q, want %q", res.GetText(), m.ResponseURL)
			}
		})
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
