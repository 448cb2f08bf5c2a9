package qrcode

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	upstream "github.com/skip2/go-qrcode"
)

// TestSameAsUpstream checks that the symbols are bit for bit those of
// github.com/skip2/go-qrcode, for the URLs the print channel encodes and
// for random contents of every length class (numeric, alphanumeric, bytes).
func TestSameAsUpstream(t *testing.T) {
	var inputs []string
	for i := range 300 {
		inputs = append(inputs, fmt.Sprintf("https://r.dupont.example/r/%07dxk2Q", i*37))
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"0123456789", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", "abcdefghijklmnopqrstuvwxyz0123456789/:?=&é€"}
	for _, n := range []int{1, 5, 17, 40, 100, 300, 800, 1500} {
		for _, al := range alphabets {
			rs := []rune(al)
			b := make([]rune, n)
			for k := range b {
				b[k] = rs[r.IntN(len(rs))]
			}
			inputs = append(inputs, string(b))
		}
	}
	for _, level := range []RecoveryLevel{Low, Medium, High, Highest} {
		for _, s := range inputs {
			want, werr := upstream.New(s, upstream.RecoveryLevel(level))
			got, gerr := New(s, level)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("%q level %d: error %v, upstream %v", s, level, gerr, werr)
			}
			if werr != nil {
				continue
			}
			want.DisableBorder, got.DisableBorder = true, true
			wb, gb := want.Bitmap(), got.Bitmap()
			if len(wb) != len(gb) {
				t.Fatalf("%q level %d: size %d, upstream %d", s, level, len(gb), len(wb))
			}
			for y := range wb {
				for x := range wb[y] {
					if wb[y][x] != gb[y][x] {
						t.Fatalf("%q level %d: module (%d, %d) differs from upstream", s, level, x, y)
					}
				}
			}
		}
	}
}

func BenchmarkURL(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		q, err := New(fmt.Sprintf("https://r.dupont.example/r/%07dxk2Q", i), Medium)
		if err != nil {
			b.Fatal(err)
		}
		q.DisableBorder = true
		q.Bitmap()
	}
}

// TestPenaltyMatchesReference scores every mask of a range of symbols
// with penaltyScore and with the module-by-module reference rules.
func TestPenaltyMatchesReference(t *testing.T) {
	for i, s := range []string{"1", "HELLO WORLD", "https://r.dupont.example/r/0000042xk2Q", strings.Repeat("relais ", 60), strings.Repeat("9", 900)} {
		for _, border := range []bool{false, true} {
			q, err := New(s, RecoveryLevel(i%4))
			if err != nil {
				t.Fatal(err)
			}
			q.addTerminatorBits(q.version.numTerminatorBitsRequired(q.data.Len()))
			q.addPadding()
			encoded := q.encodeBlocks()
			for mask := range 8 {
				sym, err := buildRegularSymbol(q.version, mask, encoded, border)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := sym.penaltyScore(), sym.referencePenalty(); got != want {
					t.Fatalf("%q mask %d: penalty %d, reference %d", s, mask, got, want)
				}
			}
		}
	}
}

func BenchmarkURLUpstream(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		q, err := upstream.New(fmt.Sprintf("https://r.dupont.example/r/%07dxk2Q", i), upstream.Medium)
		if err != nil {
			b.Fatal(err)
		}
		q.DisableBorder = true
		q.Bitmap()
	}
}
