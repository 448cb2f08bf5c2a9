// go-qrcode
// Copyright 2014 Tom Harwood

package qrcode

// symbol is a 2D array of bits representing a QR Code symbol.
//
// A symbol consists of size*size modules, with each module normally drawn as a
// black or white square. The symbol also has a border of quietZoneSize modules.
//
// A (fictional) size=2, quietZoneSize=1 QR Code looks like:
//
// +----+
// |    |
// | ab |
// | cd |
// |    |
// +----+
//
// For ease of implementation, the functions to set/get bits ignore the border,
// so (0,0)=a, (0,1)=b, (1,0)=c, and (1,1)=d. The entire symbol (including the
// border) is returned by bitmap().
type symbol struct {
	// Value of module at [y][x]. True is set.
	module [][]bool

	// True if the module at [y][x] is used (to either true or false).
	// Used to identify unused modules.
	isUsed [][]bool

	// Combined width/height of the symbol and quiet zones.
	//
	// size = symbolSize + 2*quietZoneSize.
	size int

	// Width/height of the symbol only.
	symbolSize int

	// Width/height of a single quiet zone.
	quietZoneSize int
}

// newSymbol constructs a symbol of size size*size, with a border of
// quietZoneSize.
func newSymbol(size int, quietZoneSize int) *symbol {
	var m symbol

	n := size + 2*quietZoneSize
	m.module = make([][]bool, n)
	m.isUsed = make([][]bool, n)

	// One allocation per grid rather than one per row.
	module, isUsed := make([]bool, n*n), make([]bool, n*n)
	for i := range m.module {
		m.module[i] = module[i*n : (i+1)*n : (i+1)*n]
		m.isUsed[i] = isUsed[i*n : (i+1)*n : (i+1)*n]
	}

	m.size = size + 2*quietZoneSize
	m.symbolSize = size
	m.quietZoneSize = quietZoneSize

	return &m
}

// get returns the module value at (x, y).
func (m *symbol) get(x int, y int) (v bool) {
	v = m.module[y+m.quietZoneSize][x+m.quietZoneSize]
	return
}

// empty returns true if the module at (x, y) has not been set (to either true
// or false).
func (m *symbol) empty(x int, y int) bool {
	return !m.isUsed[y+m.quietZoneSize][x+m.quietZoneSize]
}

// numEmptyModules returns the number of empty modules.
//
// Initially numEmptyModules is symbolSize * symbolSize. After every module has
// been set (to either true or false), the number of empty modules is zero.
func (m *symbol) numEmptyModules() int {
	var count int
	for y := 0; y < m.symbolSize; y++ {
		for x := 0; x < m.symbolSize; x++ {
			if !m.isUsed[y+m.quietZoneSize][x+m.quietZoneSize] {
				count++
			}
		}
	}

	return count
}

// set sets the module at (x, y) to v.
func (m *symbol) set(x int, y int, v bool) {
	m.module[y+m.quietZoneSize][x+m.quietZoneSize] = v
	m.isUsed[y+m.quietZoneSize][x+m.quietZoneSize] = true
}

// set2dPattern sets a 2D array of modules, starting at (x, y).
func (m *symbol) set2dPattern(x int, y int, v [][]bool) {
	for j, row := range v {
		for i, value := range row {
			m.set(x+i, y+j, value)
		}
	}
}

// bitmap returns the entire symbol, including the quiet zone.
func (m *symbol) bitmap() [][]bool {
	module := make([][]bool, len(m.module))

	for i := range m.module {
		module[i] = m.module[i][:]
	}

	return module
}

// Constants used to weight penalty calculations. Specified by ISO/IEC
// 18004:2006.
const (
	penaltyWeight1 = 3
	penaltyWeight2 = 3
	penaltyWeight3 = 40
	penaltyWeight4 = 10
)

// penaltyScore returns the penalty score of the symbol. The penalty score
// consists of the sum of the four individual penalty types. It scores rows
// and a transposed copy of the symbol with the same rules as the reference
// implementation (penalty1 to penalty4, kept in the tests), one mask after
// another for every QR code, so it avoids the per-module index arithmetic.
func (m *symbol) penaltyScore() int {
	n, q := m.symbolSize, m.quietZoneSize
	rows := make([][]bool, n)
	for y := range rows {
		rows[y] = m.module[y+q][q : q+n]
	}
	flat := make([]bool, n*n)
	cols := make([][]bool, n)
	for x := range cols {
		cols[x] = flat[x*n : (x+1)*n]
	}
	dark := 0
	for y, row := range rows {
		for x, v := range row {
			cols[x][y] = v
			if v {
				dark++
			}
		}
	}

	// Penalty 1: runs of 6 or more same-colour modules in a row or column.
	// Penalty 3: the 1:1:3:1:1 finder-like pattern with 4 light modules.
	p1, p3 := 0, 0
	for _, lines := range [2][][]bool{cols, rows} {
		for _, line := range lines {
			p1 += runPenalty(line)
			p3 += patternPenalty(line)
		}
	}

	// Penalty 2: 2×2 blocks of one colour.
	p2 := 0
	for y := 1; y < n; y++ {
		above, row := rows[y-1], rows[y]
		for x := 1; x < n; x++ {
			c := row[x]
			if c == row[x-1] && c == above[x] && c == above[x-1] {
				p2++
			}
		}
	}

	// Penalty 4: deviation of the dark modules from half.
	numModules := n * n
	dev := numModules/2 - dark
	if dev < 0 {
		dev = -dev
	}
	p4 := penaltyWeight4 * (dev / (numModules / 20))

	return p1 + p2*penaltyWeight2 + p3 + p4
}

// runPenalty scores runs of adjacent same-colour modules in a line:
// 0-5: 0; 6+: penaltyWeight1 + (run - 5).
func runPenalty(line []bool) int {
	penalty := 0
	last := line[0]
	count := 1
	for _, v := range line[1:] {
		if v != last {
			count = 1
			last = v
			continue
		}
		count++
		if count == 6 {
			penalty += penaltyWeight1 + 1
		} else if count > 6 {
			penalty++
		}
	}
	return penalty
}

// patternPenalty scores the "1:1:3:1:1 ratio (dark:light:dark:light:dark)
// pattern, preceded or followed by a light area 4 modules wide" in a line:
// penaltyWeight3 per occurrence.
func patternPenalty(line []bool) int {
	penalty := 0
	var bitBuffer int16
	last := len(line) - 1
	for i, v := range line {
		bitBuffer <<= 1
		if v {
			bitBuffer |= 1
		}
		switch bitBuffer & 0x7ff {
		// 0b000 0101 1101 or 0b10111010000
		// 0x05d           or 0x5d0
		case 0x05d, 0x5d0:
			penalty += penaltyWeight3
			bitBuffer = 0xFF
		default:
			if i == last && (bitBuffer&0x7f) == 0x5d {
				penalty += penaltyWeight3
				bitBuffer = 0xFF
			}
		}
	}
	return penalty
}
