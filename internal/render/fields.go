package render

import (
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"
	"time"
)

// FieldRef is a data field a template references, such as
// ".Contact.Attrs.revenue", with its 1-based position in the source.
type FieldRef struct {
	Path string
	Line int
	Col  int
}

// Fields returns every field path the template references from the root
// data (fields under {{with .X}} are resolved to .X.…; fields inside
// {{range}} bodies and through variables other than $ are element-relative
// and not reported). Validation uses it to reject a field the audience
// lacks before anything is sent.
func (t *Template) Fields() []FieldRef {
	var w fieldWalker
	w.src = t.src
	for _, tt := range t.tree.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		w.list(tt.Tree.Root, []string{})
	}
	return w.refs
}

type fieldWalker struct {
	src  string
	refs []FieldRef
}

func (w *fieldWalker) add(n parse.Node, path []string) {
	// The parser positions a field chain at its last segment; find where
	// the written reference starts so editors jump to its first character.
	pos := int(n.Position())
	text := n.String()
	if end := min(len(w.src), pos+len(text)); end >= 0 {
		if k := strings.LastIndex(w.src[:end], text); k >= 0 {
			pos = k
		}
	}
	line, col := posToLineCol(w.src, pos)
	w.refs = append(w.refs, FieldRef{Path: "." + strings.Join(path, "."), Line: line, Col: col})
}

// list walks a node list with dot known as the path dot (nil: unknown).
func (w *fieldWalker) list(l *parse.ListNode, dot []string) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, dot)
	}
}

func (w *fieldWalker) node(n parse.Node, dot []string) {
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe, dot)
	case *parse.IfNode:
		w.pipe(n.Pipe, dot)
		w.list(n.List, dot)
		w.list(n.ElseList, dot)
	case *parse.WithNode:
		w.pipe(n.Pipe, dot)
		w.list(n.List, pipePath(n.Pipe, dot))
		w.list(n.ElseList, dot)
	case *parse.RangeNode:
		w.pipe(n.Pipe, dot)
		w.list(n.List, nil)
		w.list(n.ElseList, dot)
	case *parse.TemplateNode:
		w.pipe(n.Pipe, dot)
	case *parse.ListNode:
		w.list(n, dot)
	}
}

func (w *fieldWalker) pipe(p *parse.PipeNode, dot []string) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			w.arg(a, dot)
		}
	}
}

func (w *fieldWalker) arg(a parse.Node, dot []string) {
	switch a := a.(type) {
	case *parse.FieldNode:
		if dot != nil {
			w.add(a, append(append([]string{}, dot...), a.Ident...))
		}
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			w.add(a, a.Ident[1:])
		}
	case *parse.ChainNode:
		w.arg(a.Node, dot)
	case *parse.PipeNode:
		w.pipe(a, dot)
	}
}

// pipePath is the path {{with PIPE}} sets dot to, when PIPE is a plain
// field reference; nil (unknown) otherwise.
func pipePath(p *parse.PipeNode, dot []string) []string {
	if p == nil || len(p.Cmds) != 1 || len(p.Decl) > 0 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		if dot == nil {
			return nil
		}
		return append(append([]string{}, dot...), a.Ident...)
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			return append([]string{}, a.Ident[1:]...)
		}
	case *parse.DotNode:
		return dot
	}
	return nil
}

var (
	dataType = reflect.TypeFor[Data]()
	timeType = reflect.TypeFor[time.Time]()
)

// LookupField checks that path (".Contact.FirstName", ".Data.x") exists in
// Data. Map keys (Attrs, Data) are free-form and always accepted here;
// methods and fields of time values are accepted. The error names the
// unknown segment and suggests the closest field.
func LookupField(path string) error {
	segs := strings.Split(strings.TrimPrefix(path, "."), ".")
	t := dataType
	for i, s := range segs {
		switch {
		case t == timeType:
			if _, ok := t.MethodByName(s); ok {
				return nil
			}
			return fmt.Errorf("unknown field %s on a time in %s", s, path)
		case t.Kind() == reflect.Map || t.Kind() == reflect.Interface:
			return nil
		case t.Kind() != reflect.Struct:
			return fmt.Errorf("%s has no field %s", "."+strings.Join(segs[:i], "."), s)
		}
		f, ok := t.FieldByName(s)
		if !ok || !f.IsExported() {
			var names []string
			for j := 0; j < t.NumField(); j++ {
				names = append(names, t.Field(j).Name)
			}
			where := "." + strings.Join(segs[:i], ".")
			if i == 0 {
				where = "the template data"
			}
			msg := fmt.Sprintf("unknown field %s in %s", s, where)
			if c := Closest(s, names); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
			return fmt.Errorf("%s", msg)
		}
		t = f.Type
	}
	return nil
}

// Closest returns the candidate nearest to s by edit distance (case
// folded), or "" when none is near enough to be a plausible typo. It
// makes the "did you mean …?" of template and campaign errors.
func Closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
