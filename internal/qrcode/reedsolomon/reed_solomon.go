// go-qrcode
// Copyright 2014 Tom Harwood

// Package reedsolomon provides error correction encoding for QR Code 2005.
//
// QR Code 2005 uses a Reed-Solomon error correcting code to detect and correct
// errors encountered during decoding.
//
// The generated RS codes are systematic, and consist of the input data with
// error correction bytes appended.
package reedsolomon

import (
	"log"
	"sync"

	bitset "github.com/relais-dev/relais/internal/qrcode/bitset"
)

// Encode data for QR Code 2005 using the appropriate Reed-Solomon code.
//
// numECBytes is the number of error correction bytes to append, and is
// determined by the target QR Code's version and error correction level.
//
// ISO/IEC 18004 table 9 specifies the numECBytes required. e.g. a 1-L code has
// numECBytes=7.
func Encode(data *bitset.Bitset, numECBytes int) *bitset.Bitset {
	// The remainder of data(x)·x^n divided by the generator, computed by
	// synthetic division (a shift register of n bytes, highest degree
	// first): the same bytes as the polynomial arithmetic of the original
	// package, without its allocation per term.
	gen := generatorHighFirst(numECBytes)
	rem := make([]byte, numECBytes)
	for j := 0; j < data.Len(); j += 8 {
		factor := data.ByteAt(j) ^ rem[0]
		copy(rem, rem[1:])
		rem[numECBytes-1] = 0
		if factor == 0 {
			continue
		}
		lf := gfLogTable[factor]
		for k, g := range gen {
			if g != 0 {
				rem[k] ^= byte(gfExpTable[(gfLogTable[g]+lf)%255])
			}
		}
	}

	// QR Code 2005 keeps the data bits as they are (leading zero bits
	// included) and appends the error correction bytes.
	result := bitset.Clone(data)
	result.AppendBytes(rem)

	return result
}

// generators caches the generator polynomials by degree, highest degree
// first and without the leading 1.
var generators [256]struct {
	once sync.Once
	g    []gfElement
}

func generatorHighFirst(degree int) []gfElement {
	c := &generators[degree]
	c.once.Do(func() {
		p := rsGeneratorPoly(degree)
		c.g = make([]gfElement, degree)
		for k := range c.g {
			c.g[k] = p.term[degree-1-k]
		}
	})
	return c.g
}

// rsGeneratorPoly returns the Reed-Solomon generator polynomial with |degree|.
//
// The generator polynomial is calculated as:
// (x + a^0)(x + a^1)...(x + a^degree-1)
func rsGeneratorPoly(degree int) gfPoly {
	if degree < 2 {
		log.Panic("degree < 2")
	}

	generator := gfPoly{term: []gfElement{1}}

	for i := 0; i < degree; i++ {
		nextPoly := gfPoly{term: []gfElement{gfExpTable[i], 1}}
		generator = gfPolyMultiply(generator, nextPoly)
	}

	return generator
}
