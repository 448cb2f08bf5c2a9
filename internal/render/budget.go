package render

import (
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	texttemplate "text/template"
	"text/template/parse"
	"time"
)

// A template is user content: a loop that writes nothing would never
// reach the output writer, whose checks alone cannot stop it. Two guards
// bound the work of one execution:
//
//   - checkTree refuses, when the template is compiled (so `validate`
//     reports it), a range over something that is statically not a
//     collection: a number, string or boolean literal, a time value or
//     method ({{range .Now.UnixNano}}), a name or address field, or the
//     result of a function that returns a scalar (len, printf, number…).
//   - addTicks inserts, at the start of every range body and every
//     defined template, a call to the tick function, which fails the
//     execution once the time budget of the message is spent. Data whose
//     type is only known at send time (a number in .Data or
//     .Contact.Attrs ranged over) is thus stopped within the budget: the
//     execution ends with ErrTimeout and no goroutine is left running.

// tickFunc is the name of the function addTicks calls; the prefix keeps
// it out of the users' way.
const tickFunc = "relaisBudgetTick"

// budget is the per-execution bound tick checks; Execute puts it in a
// copy of the Data.
type budget struct {
	deadline time.Time
	n        int
	gen      int64 // interrupts when started
}

// interrupts counts Interrupt calls; an execution started before the
// latest one fails at its next tick.
var interrupts atomic.Int64

// Interrupt makes every template execution in progress fail with
// ErrTimeout at its next loop iteration. A command abandoning its work on
// SIGTERM calls it so no template keeps running in the background.
func Interrupt() { interrupts.Add(1) }

// tick is the template function addTicks calls with $: it reads the
// clock every 64 iterations and fails past the deadline. It is always
// false, so the {{if}} around it renders nothing.
func tick(root any) (bool, error) {
	d, ok := root.(*Data)
	if !ok || d.budget == nil {
		return false, nil
	}
	b := d.budget
	b.n++
	if b.n&63 == 0 && (time.Now().After(b.deadline) || interrupts.Load() != b.gen) {
		return false, ErrTimeout
	}
	return false, nil
}

// addTicks inserts {{if relaisBudgetTick $}}{{end}} into every range body and at
// the start of every template of t's namespace.
func addTicks(trees []*parse.Tree) {
	for _, tr := range trees {
		if tr == nil || tr.Root == nil {
			continue
		}
		tickList(tr, tr.Root)
		tr.Root.Nodes = append([]parse.Node{tickNode(tr, tr.Root.Pos)}, tr.Root.Nodes...)
	}
}

// tickTree is {{if relaisBudgetTick $}}{{end}}: a condition, so it writes
// nothing and html/template adds no escaper to it in any context.
var tickTree = func() *parse.Tree {
	trees, err := parse.Parse("tick", "{{if "+tickFunc+" $}}{{end}}", "", "", map[string]any{tickFunc: tick})
	if err != nil {
		panic(err)
	}
	return trees["tick"]
}()

func tickNode(_ *parse.Tree, _ parse.Pos) parse.Node {
	return tickTree.Root.Nodes[0].Copy()
}

func tickList(tr *parse.Tree, l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			tickList(tr, n.List)
			tickList(tr, n.ElseList)
			n.List.Nodes = append([]parse.Node{tickNode(tr, n.List.Pos)}, n.List.Nodes...)
		case *parse.IfNode:
			tickList(tr, n.List)
			tickList(tr, n.ElseList)
		case *parse.WithNode:
			tickList(tr, n.List)
			tickList(tr, n.ElseList)
		}
	}
}

// scalarFuncs return a value a range cannot iterate (or one that is at
// best a string).
var scalarFuncs = map[string]bool{"len": true, "print": true, "printf": true, "println": true, "html": true, "js": true,
	"urlquery": true, "not": true, "eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
	"upper": true, "lower": true, "title": true, "trim": true, "date": true, "number": true, "money": true,
	"truncate": true, "join": true}

// checkTree rejects ranges over what is statically not a collection (see
// the comment at the top of this file).
func checkTree(name, src string, t *texttemplate.Template) error {
	var bad *parse.RangeNode
	var what string
	var visit func(l *parse.ListNode, dot []string)
	visit = func(l *parse.ListNode, dot []string) {
		if l == nil || bad != nil {
			return
		}
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.RangeNode:
				if w := notCollection(n.Pipe, dot); w != "" && bad == nil {
					bad, what = n, w
				}
				visit(n.List, nil)
				visit(n.ElseList, dot)
			case *parse.IfNode:
				visit(n.List, dot)
				visit(n.ElseList, dot)
			case *parse.WithNode:
				visit(n.List, pipePath(n.Pipe, dot))
				visit(n.ElseList, dot)
			}
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			var root []string
			if tt.Name() == t.Name() {
				root = []string{}
			}
			visit(tt.Tree.Root, root)
		}
	}
	if bad != nil {
		line, col := posToLineCol(src, int(bad.Pos))
		return &Error{Name: name, Line: line, Col: col, Msg: "range over " + what + " is not allowed in templates (range needs a list or a map)"}
	}
	return nil
}

// notCollection describes the ranged value when it is statically not a
// collection ("a number", "a time value"…), "" when it may be one.
func notCollection(p *parse.PipeNode, dot []string) string {
	if p == nil || len(p.Cmds) == 0 {
		return ""
	}
	c := p.Cmds[len(p.Cmds)-1]
	if len(c.Args) == 0 {
		return ""
	}
	switch a := c.Args[0].(type) {
	case *parse.NumberNode:
		return "a number"
	case *parse.StringNode:
		return "a string"
	case *parse.BoolNode:
		return "a boolean"
	case *parse.IdentifierNode:
		if scalarFuncs[a.Ident] {
			return "the result of " + a.Ident
		}
		return ""
	case *parse.FieldNode:
		if dot == nil || len(c.Args) > 1 {
			return ""
		}
		return scalarPath(append(append([]string{}, dot...), a.Ident...))
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" && len(c.Args) == 1 {
			return scalarPath(a.Ident[1:])
		}
	}
	return ""
}

// scalarPath resolves path in Data's type; it describes a scalar result
// and returns "" for collections and for values only known at send time
// (map entries, interfaces).
func scalarPath(path []string) string {
	t := dataType
	for _, s := range path {
		switch {
		case t.Kind() == reflect.Map || t.Kind() == reflect.Interface:
			return ""
		case t.Kind() == reflect.Struct:
			if f, ok := t.FieldByName(s); ok {
				t = f.Type
				continue
			}
			if m, ok := t.MethodByName(s); ok && m.Type.NumOut() > 0 {
				t = m.Type.Out(0)
				continue
			}
			return ""
		default:
			return ""
		}
	}
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Chan, reflect.Interface, reflect.Func:
		return ""
	}
	if t == timeType {
		return "a time value"
	}
	return fmt.Sprintf("%s (a %s)", "."+strings.Join(path, "."), kindName(t))
}

func kindName(t reflect.Type) string {
	switch k := t.Kind(); {
	case k >= reflect.Int && k <= reflect.Float64:
		return "number"
	case k == reflect.String:
		return "string"
	case k == reflect.Bool:
		return "boolean"
	}
	return t.String()
}
