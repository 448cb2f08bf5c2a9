package print

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
)

func TestRenderOnePreview(t *testing.T) {
	m := testMessage(t, "preview", 0)
	var buf bytes.Buffer
	if err := RenderOne(context.Background(), m, testLayout, &buf); err != nil {
		t.Fatalf("RenderOne: %v", err)
	}
	n, err := api.PageCount(bytes.NewReader(buf.Bytes()), pdfConf())
	if err != nil || n < 1 {
		t.Fatalf("page count %d, %v", n, err)
	}
	if dir := os.Getenv("PRINT_PREVIEW_DIR"); dir != "" {
		p := filepath.Join(dir, "preview.pdf")
		os.WriteFile(p, buf.Bytes(), 0o644)
		exec.Command("pdftoppm", "-png", "-r", "80", p, filepath.Join(dir, "page")).Run()
	}
}
