package audience

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
)

func TestGenerateCSV(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{name: "header only", n: 0},
		{name: "small", n: 50},
		{name: "with duplicates", n: 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := GenerateCSV(&a, tt.n); err != nil {
				t.Fatal(err)
			}
			if err := GenerateCSV(&b, tt.n); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("GenerateCSV is not deterministic")
			}
			src := open(t, writeFile(t, "gen.csv", a.Bytes()), nil)
			got := collect(t, src)
			if _, total := src.RowErrors(); total != 0 || len(got) != tt.n {
				first, _ := src.RowErrors()
				t.Fatalf("read %d contacts with %d row errors (%v), want %d and none", len(got), total, first, tt.n)
			}
			sel, err := NewSelector("", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			unique := 0
			if err := sel.Stream(context.Background(), src, func(c *contact.Contact) error {
				if c.EmailNorm == "" || c.Phone == "" {
					t.Fatalf("generated contact without valid email or phone")
				}
				unique++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tt.n >= 3000 && (unique == tt.n || unique < tt.n*97/100) {
				t.Fatalf("%d unique of %d: want about 1%% duplicates", unique, tt.n)
			}
		})
	}
}

// BenchmarkStreamCSV measures the file path of an audience: decoding,
// normalization, a where expression and dedupe over 200,000 rows.
func BenchmarkStreamCSV(b *testing.B) {
	const rows = 200_000
	path := filepath.Join(b.TempDir(), "bench.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := GenerateCSV(f, rows); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	src, err := OpenFile(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	sel, err := NewSelector(`attrs.orders_12m >= 2 and city == "Lyon"`, "", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	read := 0
	for b.Loop() {
		if err := sel.Stream(context.Background(), src, func(*contact.Contact) error { return nil }); err != nil {
			b.Fatal(err)
		}
		read += rows
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "rows/s")
}
