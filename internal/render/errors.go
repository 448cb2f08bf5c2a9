package render

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a template problem at a position in the template's source.
// Line and Col are 1-based; Col counts characters (runes), as editors do.
// Col is 1 when the template package gave only a line and the column
// could not be inferred.
type Error struct {
	Name string // the template name given to Parse
	Line int
	Col  int
	Msg  string
}

// Error formats as name:line:col: message.
func (e *Error) Error() string {
	return e.Name + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Msg
}

// convertError turns text/template and html/template messages
// ("template: NAME:LINE[:COL]: MSG", "html/template:NAME:LINE: MSG") into
// an *Error. Messages it cannot parse keep line 1, col 1.
func convertError(name, src string, err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "template: ")
	if !ok {
		rest, ok = strings.CutPrefix(msg, "html/template:")
	}
	out := &Error{Name: name, Line: 1, Col: 1, Msg: msg}
	if !ok {
		return out
	}
	rest, ok = strings.CutPrefix(rest, name+":")
	if !ok {
		out.Msg = strings.TrimSpace(rest)
		return out
	}
	line, rest, ok := leadingInt(rest)
	if !ok {
		out.Msg = strings.TrimSpace(rest)
		return out
	}
	out.Line = line
	col := 0
	if c, r, ok := leadingInt(strings.TrimPrefix(rest, ":")); ok && strings.HasPrefix(rest, ":") {
		// ErrorContext gives a 0-based byte offset within the line.
		col, rest = c+1, r
		col = byteColToRune(src, line, col)
	}
	out.Msg = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	// An unclosed action is reported at the end of input; point at its start.
	if started, ok := strings.CutPrefix(out.Msg[strings.Index(out.Msg, "started at ")+1:], "tarted at "+name+":"); ok && strings.HasPrefix(out.Msg, "unclosed action") {
		if n, _, ok := leadingInt(started); ok {
			out.Line, col = n, 0
			line = n
		}
	}
	if col == 0 {
		col = guessCol(src, line, out.Msg)
	}
	out.Col = col
	return out
}

func leadingInt(s string) (int, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	return n, s[i:], err == nil
}

// sourceLine returns line n (1-based) of src, or "".
func sourceLine(src string, n int) string {
	lines := strings.Split(src, "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

func byteColToRune(src string, line, col int) int {
	l := sourceLine(src, line)
	if col-1 > len(l) {
		return col
	}
	return utf8.RuneCountInString(l[:col-1]) + 1
}

// guessCol points at the quoted name in msg (function "x" not defined,
// unexpected "}"…) when it occurs on the line, else at the line's first
// action, else at column 1.
func guessCol(src string, line int, msg string) int {
	l := sourceLine(src, line)
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '"'); j > 0 {
			if k := strings.Index(l, msg[i+1:i+1+j]); k >= 0 {
				return utf8.RuneCountInString(l[:k]) + 1
			}
		}
	}
	if k := strings.Index(l, "{{"); k >= 0 {
		return utf8.RuneCountInString(l[:k]) + 1
	}
	return 1
}

// posToLineCol converts a byte offset in src to a 1-based line and rune
// column.
func posToLineCol(src string, pos int) (int, int) {
	if pos > len(src) {
		pos = len(src)
	}
	before := src[:pos]
	line := 1 + strings.Count(before, "\n")
	start := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[start:]) + 1
}
