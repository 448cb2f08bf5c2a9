package campaign

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
)

// EventFuncs are the functions a step's when expression may call. Each
// takes a step id (opened, clicked, delivered) or nothing and reports an
// event of the recipient in this run.
var EventFuncs = []string{"opened", "clicked", "delivered", "responded", "converted", "unsubscribed"}

// ExprEnv describes what audience expressions (where, top.by) see: the
// contact's canonical fields by name, attrs and consent maps. The audience
// evaluator passes values of the same shape.
func ExprEnv() map[string]any {
	env := map[string]any{"attrs": map[string]any{}, "consent": map[string]any{}}
	for _, f := range contact.CanonicalFields {
		if !strings.HasPrefix(f, "consent_") {
			env[f] = ""
		}
	}
	return env
}

// checkSteps checks ids, channel lists and content, filling each step's
// Channels with its effective list.
func (c *checker) checkSteps() {
	if len(c.sp.Steps) == 0 {
		c.errorf(nil, "campaign needs at least one step")
		c.errs[len(c.errs)-1].Line, c.errs[len(c.errs)-1].Col = 1, 1
	}
	seen := map[string]bool{}
	uses := map[string]bool{}
	for i := range c.sp.Steps {
		st := &c.sp.Steps[i]
		if st.ID != "" {
			if seen[st.ID] {
				c.errorf(c.pos.stepIDs[i], "duplicate step id %q", st.ID)
			}
			seen[st.ID] = true
		}
		chNode := c.pos.channels[stepKeyOf(i)]
		if len(st.Channels) == 0 {
			st.Channels = append([]string(nil), c.sp.Channels...)
			chNode = c.pos.channels[""]
		}
		if len(st.Channels) == 0 {
			st.Channels = c.contentChannels(st)
		}
		if chNode == nil {
			chNode = c.pos.steps[i]
		}
		for _, ch := range st.Channels {
			if !c.reg.Known(ch) {
				continue // reported where it was written
			}
			if st.Content[ch] == nil {
				c.errorf(chNode, "step %q: channel %s has no content (add an %s: block or drop it from channels)", st.ID, ch, ch)
			}
			uses[ch] = true
		}
	}
	// A sender key missing for a channel a step uses, once per key.
	reported := map[string]bool{}
	for _, ch := range c.reg.All() {
		if !uses[ch.Name] || ch.SenderKey == "" || reported[ch.SenderKey] || c.sp.Sender.For(ch.SenderKey) != "" {
			continue
		}
		reported[ch.SenderKey] = true
		msg := ch.SenderRequired
		if msg == "" {
			msg = "sender." + ch.SenderKey + " is required when a step sends " + ch.Name
		}
		c.errorf(nil, "%s", msg)
		c.errs[len(c.errs)-1].Line, c.errs[len(c.errs)-1].Col = 1, 1
	}
}

// contentChannels is the default channel order of a step when neither it
// nor the campaign lists channels: the channels it has content for, in
// registry order.
func (c *checker) contentChannels(st *Step) []string {
	var out []string
	for _, ch := range c.reg.Names() {
		if st.Content[ch] != nil {
			out = append(out, ch)
		}
	}
	return out
}

// stepRefs collects the step ids passed to event functions in a when
// expression, to check that they exist.
type stepRefs struct {
	refs []*ast.StringNode
	bad  []ast.Node
}

func (s *stepRefs) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || !contains([]string{"opened", "clicked", "delivered"}, id.Value) {
		return
	}
	for _, a := range call.Arguments {
		if sn, ok := a.(*ast.StringNode); ok {
			s.refs = append(s.refs, sn)
		} else {
			s.bad = append(s.bad, a)
		}
	}
}

// checkExprs compiles every expression with expr-lang against the
// contact environment (plus event functions for when).
func (c *checker) checkExprs() {
	eventStep := func(params ...any) (any, error) { return false, nil }
	noArg := func(params ...any) (any, error) { return false, nil }
	for _, e := range c.pos.exprs {
		if strings.TrimSpace(e.src) == "" {
			c.errorf(e.node, "%s must not be empty", e.kind)
			continue
		}
		opts := []expr.Option{expr.Env(ExprEnv())}
		switch e.kind {
		case "where", "when":
			opts = append(opts, expr.AsBool())
		}
		if e.kind == "when" {
			for _, f := range []string{"opened", "clicked", "delivered"} {
				opts = append(opts, expr.Function(f, eventStep, new(func(string) bool)))
			}
			for _, f := range []string{"responded", "converted", "unsubscribed"} {
				opts = append(opts, expr.Function(f, noArg, new(func() bool)))
			}
		}
		prog, err := expr.Compile(e.src, opts...)
		if err != nil {
			c.exprError(e, err)
			continue
		}
		if e.kind != "when" {
			continue
		}
		var v stepRefs
		node := prog.Node()
		ast.Walk(&node, &v)
		for _, sn := range v.refs {
			if c.sp.Step(sn.Value) == nil {
				c.exprErrorAt(e, sn.Location().From, fmt.Sprintf("when: no step with id %q", sn.Value))
			}
		}
		for _, n := range v.bad {
			c.exprErrorAt(e, n.Location().From, "when: event functions take a step id as a string literal")
		}
	}
}

func (c *checker) exprError(e exprRef, err error) {
	var fe *file.Error
	if errors.As(err, &fe) {
		line, col := exprPos(e.node, fe.Line, fe.Column)
		c.errs = append(c.errs, Error{File: c.file, Line: line, Col: col, Msg: fmt.Sprintf("bad %s expression: %s", e.kind, fe.Message)})
		return
	}
	c.errorf(e.node, "bad %s expression: %v", e.kind, err)
}

// exprErrorAt reports msg at a rune offset in the expression.
func (c *checker) exprErrorAt(e exprRef, offset int, msg string) {
	line, col := 1, 0
	for i, r := range []rune(e.src) {
		if i == offset {
			break
		}
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	l, cl := exprPos(e.node, line, col)
	c.errs = append(c.errs, Error{File: c.file, Line: l, Col: cl, Msg: msg})
}

// exprPos maps a position inside a scalar's value (1-based line, 0-based
// column) to the campaign file, accounting for quotes and block scalars.
func exprPos(n *yaml.Node, line, col int) (int, int) {
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return n.Line + max(line, 1), col + 1
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line <= 1 {
			return n.Line, n.Column + 1 + col
		}
	default:
		if line <= 1 {
			return n.Line, n.Column + col
		}
	}
	return n.Line + line - 1, col + 1
}

// compileTemplates compiles every template file and inline subject,
// reporting syntax errors and unknown fields at their position in the
// template, and checks the opt-out mention of marketing SMS/MMS.
func (c *checker) compileTemplates() {
	c.sp.Templates = map[string]*render.Template{}
	for _, f := range c.pos.files {
		kind, ok := templateKind(f.use)
		b, read := c.sp.Files[f.rel]
		if !ok || !read || c.sp.Templates[f.rel] != nil {
			continue
		}
		tplPath := filepath.Join(c.sp.Root, filepath.FromSlash(f.rel))
		t, err := render.Parse(f.rel, kind, string(b))
		if err != nil {
			c.templateError(tplPath, nil, err)
			continue
		}
		c.sp.Templates[f.rel] = t
		if f.use == useSMS && c.sp.Purpose == Marketing && !render.ContainsOptOut(string(b)) {
			c.errorf(f.node, "marketing SMS/MMS template %s has no STOP opt-out mention (e.g. \"STOP au 36180\")", f.rel)
		}
		c.checkUnsubscribeLink(f, t)
		for _, ref := range t.Fields() {
			if msg := c.fieldProblem(ref.Path); msg != "" {
				c.errs = append(c.errs, Error{File: tplPath, Line: ref.Line, Col: ref.Col, Msg: msg})
			}
		}
	}
	for _, s := range c.pos.subjects {
		if s.src != "" && s.step < len(c.sp.Steps) {
			c.subject(SubjectKey(c.sp.Steps[s.step].ID, s.channel), s.src, s.node)
		}
	}
}

// checkUnsubscribeLink warns when a marketing email's HTML or text
// template shows no unsubscribe link: the List-Unsubscribe header alone
// is not shown by every mail client, and the law wants a visible way out
// in each message. A warning, not an error: the link may come from a
// template the author includes in a way validate cannot follow.
func (c *checker) checkUnsubscribeLink(f fileRef, t *render.Template) {
	if c.sp.Purpose != Marketing || (f.use != useHTML && f.use != useText) || f.channel == "" || c.reg == nil {
		return
	}
	if d, ok := c.reg.Lookup(f.channel); !ok || !d.Tracked {
		return
	}
	for _, ref := range t.Fields() {
		if strings.TrimPrefix(ref.Path, ".") == "Links.Unsubscribe" {
			return
		}
	}
	c.warns = append(c.warns, Warning{File: c.file, Line: f.node.Line, Col: f.node.Column,
		Msg: fmt.Sprintf("marketing %s template %s shows no unsubscribe link ({{.Links.Unsubscribe}})", f.channel, f.rel)})
}

// subject compiles an inline subject; positions are inside the campaign
// file, at the subject's value.
func (c *checker) subject(key, src string, n *yaml.Node) {
	if i := strings.IndexAny(src, "\r\n"); i >= 0 {
		// A header is one line: a line break in a subject is a typo in
		// the YAML (a quoted "\n", a block scalar), never what the author
		// wants mail clients to show.
		line, col := exprPos(n, 1, i)
		c.errs = append(c.errs, Error{File: c.file, Line: line, Col: col, Msg: "subject contains a line break; a subject is one line"})
		return
	}
	t, err := render.Parse(key, render.Text, src)
	if err != nil {
		c.templateError(c.file, n, err)
		return
	}
	c.sp.Templates[key] = t
	for _, ref := range t.Fields() {
		if msg := c.fieldProblem(ref.Path); msg != "" {
			line, col := ref.Line, ref.Col
			if n != nil {
				line, col = exprPos(n, ref.Line, ref.Col-1)
			}
			c.errs = append(c.errs, Error{File: c.file, Line: line, Col: col, Msg: msg})
		}
	}
}

func (c *checker) templateError(path string, n *yaml.Node, err error) {
	var re *render.Error
	if !errors.As(err, &re) {
		c.errs = append(c.errs, Error{File: path, Line: 1, Col: 1, Msg: err.Error()})
		return
	}
	line, col := re.Line, re.Col
	if n != nil {
		line, col = exprPos(n, re.Line, re.Col-1)
	}
	c.errs = append(c.errs, Error{File: path, Line: line, Col: col, Msg: "template: " + re.Msg})
}

// fieldProblem says why a template may not reference path, or "".
func (c *checker) fieldProblem(path string) string {
	if err := render.LookupField(path); err != nil {
		return err.Error()
	}
	segs := strings.Split(strings.TrimPrefix(path, "."), ".")
	switch {
	case segs[0] == "Data" && c.sp.Purpose != Transactional:
		return fmt.Sprintf("%s: .Data is only set for transactional campaigns (API-triggered sends)", path)
	case len(segs) > 2 && segs[0] == "Contact" && segs[1] == "Attrs" && c.attrs != nil && !contains(c.attrs, segs[2]):
		msg := fmt.Sprintf("field %s is not in the audience %s", path, c.sp.Audience.File)
		if s := render.Closest(segs[2], c.attrs); s != "" {
			msg += fmt.Sprintf(" (did you mean .Contact.Attrs.%s?)", s)
		} else if len(c.attrs) > 0 {
			msg += " (its attributes: " + strings.Join(c.attrs, ", ") + ")"
		}
		return msg
	}
	return ""
}
