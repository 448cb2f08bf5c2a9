package segments

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		encoding string
		segments int
	}{
		{name: "empty", text: "", encoding: GSM7, segments: 0},
		{name: "short ascii", text: "Hello", encoding: GSM7, segments: 1},
		{name: "200 chars with é stay GSM-7", text: strings.Repeat("a", 199) + "é", encoding: GSM7, segments: 2},
		{name: "200 chars with an emoji go UCS-2", text: strings.Repeat("a", 199) + "🙂", encoding: UCS2, segments: 3},
		{name: "202 units with an emoji", text: strings.Repeat("a", 200) + "🙂", encoding: UCS2, segments: 4},
		{name: "199 units with an emoji", text: strings.Repeat("a", 197) + "🙂", encoding: UCS2, segments: 3},
		{name: "ê forces UCS-2", text: "fête", encoding: UCS2, segments: 1},
		{name: "ç forces UCS-2 (only Ç is GSM-7)", text: "ça va", encoding: UCS2, segments: 1},
		{name: "Ç and French basics stay GSM-7", text: "Ça à è é ù ì ò", encoding: GSM7, segments: 1},
		{name: "160 GSM-7", text: strings.Repeat("x", 160), encoding: GSM7, segments: 1},
		{name: "161 GSM-7", text: strings.Repeat("x", 161), encoding: GSM7, segments: 2},
		{name: "306 GSM-7", text: strings.Repeat("x", 306), encoding: GSM7, segments: 2},
		{name: "307 GSM-7", text: strings.Repeat("x", 307), encoding: GSM7, segments: 3},
		{name: "extension char counts two septets", text: strings.Repeat("x", 159) + "€", encoding: GSM7, segments: 2},
		{name: "extension chars fill exactly 160", text: strings.Repeat("x", 158) + "{", encoding: GSM7, segments: 1},
		{name: "extension char at a segment boundary moves to the next",
			text: strings.Repeat("x", 152) + "€" + strings.Repeat("x", 152), encoding: GSM7, segments: 3},
		{name: "extension char just inside the boundary",
			text: strings.Repeat("x", 151) + "€" + strings.Repeat("x", 153), encoding: GSM7, segments: 2},
		{name: "70 UCS-2", text: strings.Repeat("ê", 70), encoding: UCS2, segments: 1},
		{name: "71 UCS-2", text: strings.Repeat("ê", 71), encoding: UCS2, segments: 2},
		{name: "134 UCS-2", text: strings.Repeat("ê", 134), encoding: UCS2, segments: 2},
		{name: "135 UCS-2", text: strings.Repeat("ê", 135), encoding: UCS2, segments: 3},
		{name: "emoji counts two units", text: strings.Repeat("ê", 69) + "🙂", encoding: UCS2, segments: 2},
		{name: "surrogate pair is not split at a boundary",
			text: strings.Repeat("ê", 66) + "🙂" + strings.Repeat("ê", 66), encoding: UCS2, segments: 3},
		{name: "newlines are GSM-7", text: "a\nb\rc", encoding: GSM7, segments: 1},
		{name: "tab is not GSM-7", text: "a\tb", encoding: UCS2, segments: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, n := Count(tt.text)
			if enc != tt.encoding || n != tt.segments {
				t.Errorf("Count = (%s, %d), want (%s, %d)", enc, n, tt.encoding, tt.segments)
			}
		})
	}
}

func FuzzCount(f *testing.F) {
	for _, s := range []string{"", "hello", "fête 🙂", strings.Repeat("€", 90), strings.Repeat("a", 161)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, n := Count(s)
		if s == "" {
			if n != 0 {
				t.Fatalf("empty text: %d segments", n)
			}
			return
		}
		if n < 1 {
			t.Fatalf("%d segments for non-empty text", n)
		}
		if enc != GSM7 && enc != UCS2 {
			t.Fatalf("encoding %q", enc)
		}
	})
}
