// Package segments counts the SMS segments a text takes on the air (GSM-7
// or UCS-2), which is what SMS providers bill. It is pure so that campaign
// validation and cost estimates count exactly as the senders do without
// linking a provider SDK.
package segments

import "unicode/utf16"

// Encodings reported by Count, as providers and handsets name them.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Segment sizes: a single message holds 160 septets (GSM-7) or 70 UTF-16
// code units (UCS-2); once concatenated, each part loses room to the user
// data header and holds 153 or 67.
const (
	gsmSingle  = 160
	gsmMulti   = 153
	ucsSingle  = 70
	ucsMulti   = 67
	gsmBasic   = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtends = "\f^{}\\[~]|€"
)

// gsmCost maps each GSM 03.38 character to the septets it takes: 1 for the
// basic table, 2 for the extension table (escape + character).
var gsmCost = buildGSMCost()

func buildGSMCost() map[rune]int {
	m := make(map[rune]int, 160)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtends {
		m[r] = 2
	}
	return m
}

// Count says how text is encoded on the air and how many SMS segments
// it takes, which is what providers bill. Text made only of GSM 03.38
// characters is GSM-7 (extension characters such as € or { count two
// septets); any other character (an emoji, ê, ç…) forces UCS-2 for the
// whole text, counted in UTF-16 code units. In concatenated messages an
// escape sequence or a surrogate pair is never split across segments, as
// handsets require, so a character at a boundary moves to the next segment.
// Empty text is GSM-7 with 0 segments.
func Count(text string) (encoding string, segments int) {
	if text == "" {
		return GSM7, 0
	}
	septets, gsm := 0, true
	for _, r := range text {
		c, ok := gsmCost[r]
		if !ok {
			gsm = false
			break
		}
		septets += c
	}
	if gsm {
		if septets <= gsmSingle {
			return GSM7, 1
		}
		return GSM7, pack(text, gsmMulti, func(r rune) int { return gsmCost[r] })
	}
	if units := len(utf16.Encode([]rune(text))); units <= ucsSingle {
		return UCS2, 1
	}
	return UCS2, pack(text, ucsMulti, utf16.RuneLen)
}

// pack fills segments of size units with the runes of text, never splitting
// one rune's units across two segments.
func pack(text string, size int, cost func(rune) int) int {
	segments, used := 1, 0
	for _, r := range text {
		c := cost(r)
		if used+c > size {
			segments++
			used = 0
		}
		used += c
	}
	return segments
}
