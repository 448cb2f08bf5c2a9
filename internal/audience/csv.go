package audience

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/relais-dev/relais/internal/contact"
)

// sniffSize is how much of a CSV file decides its encoding.
const sniffSize = 64 << 10

type encoding uint8

const (
	encUTF8 encoding = iota
	encUTF8BOM
	encUTF16 // with a BOM, as Excel's "Unicode text" writes it
	encWindows1252
)

// csvFormat is what sniffing found out about a CSV file.
type csvFormat struct {
	enc    encoding
	sep    rune
	header []string
}

// sniffCSV decides the encoding from the first 64 KiB (a BOM, else invalid
// UTF-8 means Windows-1252, the encoding of French Excel exports) and the
// separator from the header line (the most frequent of ; , and tab outside
// quotes, "," on a tie), then reads the header.
func sniffCSV(r io.Reader) (csvFormat, error) {
	var cf csvFormat
	br := bufio.NewReaderSize(r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return cf, err
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		cf.enc = encUTF8BOM
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		cf.enc = encUTF16
	case !validUTF8Prefix(head, len(head) == sniffSize):
		cf.enc = encWindows1252
	}
	dec := cf.decode(br)
	line, err := bufio.NewReader(dec).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return cf, err
	}
	if strings.TrimSpace(line) == "" {
		return cf, errors.New("no header line")
	}
	cf.sep = sniffSeparator(line)
	cr := cf.reader(strings.NewReader(line))
	header, err := cr.Read()
	if err != nil {
		return cf, fmt.Errorf("header: %w", err)
	}
	cf.header = header
	return cf, nil
}

// validUTF8Prefix is utf8.Valid that forgives a rune cut by the end of a
// truncated buffer.
func validUTF8Prefix(b []byte, truncated bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if !truncated {
		return false
	}
	for cut := 1; cut <= utf8.UTFMax-1 && cut < len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return true
		}
	}
	return false
}

func sniffSeparator(line string) rune {
	counts := map[rune]int{}
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ';' || r == ',' || r == '\t'):
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// decode wraps r so it yields UTF-8 without a BOM.
func (cf csvFormat) decode(r io.Reader) io.Reader {
	switch cf.enc {
	case encUTF8BOM:
		return transform.NewReader(r, unicode.UTF8BOM.NewDecoder())
	case encUTF16:
		return transform.NewReader(r, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case encWindows1252:
		return transform.NewReader(r, charmap.Windows1252.NewDecoder())
	}
	return r
}

func (cf csvFormat) reader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = cf.sep
	cr.FieldsPerRecord = -1 // checked by eachCSV so the row is reported, not the file refused
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	return cr
}

// eachCSV is one streaming pass over a CSV file.
func (s *FileSource) eachCSV(ctx context.Context, f io.Reader, fn func(c *contact.Contact) error) error {
	cr := s.csv.reader(s.csv.decode(bufio.NewReaderSize(f, 64<<10)))
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("audience: %s: header: %w", s.Path, err)
	}
	cols, err := plan(header, s.Mapping)
	if err != nil {
		return fmt.Errorf("%w: %s:1: %w", ErrFormat, s.Path, err)
	}
	checkUTF8 := s.csv.enc == encUTF8 || s.csv.enc == encUTF8BOM
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			s.rowError(pe.StartLine, "malformed CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return fmt.Errorf("audience: %s: %w", s.Path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue // a blank line
			}
			s.rowError(line, fmt.Sprintf("%d columns, the header has %d", len(rec), len(cols)))
			continue
		}
		c, reason, warns := buildCSV(cols, rec, checkUTF8)
		if reason != "" {
			s.rowError(line, reason)
			continue
		}
		s.rowWarnings(line, warns)
		if c == nil {
			continue // every cell empty: the trailing ";;;;" rows spreadsheets export
		}
		if err := fn(c); err != nil {
			return err
		}
	}
}

// buildCSV turns one record into a contact, or says why it cannot.
func buildCSV(cols []column, rec []string, checkUTF8 bool) (*contact.Contact, string, []string) {
	empty := true
	for _, cell := range rec {
		if strings.TrimSpace(cell) != "" {
			empty = false
			break
		}
	}
	if empty {
		return nil, "", nil
	}
	c := &contact.Contact{}
	for i := range cols {
		cell := strings.TrimSpace(rec[i])
		if checkUTF8 && !utf8.ValidString(cell) {
			return nil, fmt.Sprintf("column %q: invalid UTF-8 (is the file in two encodings?)", cols[i].header), nil
		}
		if err := cols[i].apply(c, cell); err != nil {
			return nil, err.Error(), nil
		}
	}
	warns, err := finish(c)
	if err != nil {
		return nil, err.Error(), nil
	}
	return c, "", warns
}
