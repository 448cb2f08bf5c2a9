package audience

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/contact"
)

// ExprError is a bad expression, located inside the expression text so a
// caller can add the position of the string in its file.
type ExprError struct {
	// Line and Column are 1-based, within the expression.
	Line, Column int
	Msg          string
	err          error
}

func (e *ExprError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

// Unwrap returns expr's own error.
func (e *ExprError) Unwrap() error { return e.err }

// Env is what an expression (where, top.by, a step's when) sees for c: the
// canonical fields by name as strings, attrs (missing keys read as nil) and
// consent by consent record (email, sms, postal…) set to true, false or nil.
// Env(nil) gives the same shape with empty values, which is the type
// environment expressions are compiled against.
func Env(c *contact.Contact) map[string]any {
	env := make(map[string]any, 16)
	fillEnv(env, c)
	return env
}

// fillEnv (re)fills env for c, so a stream can reuse one map per pass.
func fillEnv(env map[string]any, c *contact.Contact) {
	if c == nil {
		c = &contact.Contact{}
	}
	env["email"] = c.Email
	env["phone"] = c.Phone
	env["kind"] = c.Kind
	env["title"] = c.Title
	env["first_name"] = c.FirstName
	env["last_name"] = c.LastName
	env["company"] = c.Company
	env["city"] = c.Address.City
	env["postcode"] = c.Address.Postcode
	env["country"] = c.Address.Country
	env["locale"] = c.Locale
	env["timezone"] = c.Timezone
	env["external_id"] = c.ExternalID
	attrs := c.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	env["attrs"] = attrs
	// One key per consent record of the built-in channels, plus any other
	// the contact carries; a record it lacks reads as nil, like an
	// unknown answer.
	consent := make(map[string]any, len(c.Consent)+3)
	for _, k := range builtinConsentKeys() {
		consent[k] = nil
	}
	for k, v := range c.Consent {
		consent[k] = boolOrNil(v)
	}
	env["consent"] = consent
}

// builtinConsentKeys are the consent records of the built-in channels.
var builtinConsentKeys = sync.OnceValue(func() []string { return builtin.Channels().ConsentKeys() })

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// ExprOptions are the expr options every audience expression is compiled
// with: the Env(nil) environment, comparisons that are false, not errors,
// when one side is nil (a missing attribute), so that
// `attrs.orders_12m >= 2` simply skips contacts without that attribute,
// and arithmetic that yields nil when an operand is nil.
// Callers compiling `when` conditions append their own functions.
func ExprOptions() []expr.Option {
	return []expr.Option{
		expr.Env(Env(nil)),
		expr.Function(nilSafeCmp, cmpNilSafe),
		expr.Function(nilSafeArith, arithNilSafe),
		expr.Patch(nilSafeVisitor{}),
	}
}

// CompileWhere checks a where expression (it must be boolean). The error
// is an *ExprError with the line and column inside the expression.
func CompileWhere(src string) error {
	_, err := compile(src, true)
	return err
}

// CompileBy checks a top.by expression (it should yield a number).
func CompileBy(src string) error {
	_, err := compile(src, false)
	return err
}

func compile(src string, asBool bool) (*vm.Program, error) {
	opts := ExprOptions()
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, exprError(err)
	}
	return p, nil
}

// exprError converts expr's error into an ExprError; expr columns are
// 0-based.
func exprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &ExprError{Line: fe.Line, Column: fe.Column + 1, Msg: fe.Message, err: err}
	}
	return &ExprError{Line: 1, Column: 1, Msg: err.Error(), err: err}
}

const (
	nilSafeCmp   = "__relais_cmp"
	nilSafeArith = "__relais_arith"
)

// nilSafeVisitor rewrites ordering comparisons and arithmetic whose
// operand type is only known at run time (attributes) into calls that
// treat nil as "no match" / "no value"; statically typed operations keep
// expr's compile-time checks.
type nilSafeVisitor struct{}

func (nilSafeVisitor) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	fn := ""
	switch b.Operator {
	case "<", "<=", ">", ">=":
		fn = nilSafeCmp
	case "+", "-", "*", "/", "%", "**":
		fn = nilSafeArith
	default:
		return
	}
	if !dynamic(b.Left.Type()) && !dynamic(b.Right.Type()) {
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: fn},
		Arguments: []ast.Node{&ast.StringNode{Value: b.Operator}, b.Left, b.Right},
	})
}

// arithNilSafe propagates nil through arithmetic, so that
// `attrs.orders_12m * 10` is nil (no value) for a contact without the
// attribute instead of an error.
func arithNilSafe(p ...any) (any, error) {
	if len(p) != 3 {
		return nil, errors.New("arithmetic: want 3 arguments")
	}
	a, b := p[1], p[2]
	if a == nil || b == nil {
		return nil, nil
	}
	switch p[0] {
	case "+":
		return runtime.Add(a, b), nil
	case "-":
		return runtime.Subtract(a, b), nil
	case "*":
		return runtime.Multiply(a, b), nil
	case "/":
		return runtime.Divide(a, b), nil
	case "%":
		return runtime.Modulo(a, b), nil
	}
	return runtime.Exponent(a, b), nil
}

func dynamic(t reflect.Type) bool { return t == nil || t.Kind() == reflect.Interface }

func cmpNilSafe(p ...any) (any, error) {
	if len(p) != 3 {
		return nil, errors.New("comparison: want 3 arguments")
	}
	a, b := p[1], p[2]
	if a == nil || b == nil {
		return false, nil
	}
	switch p[0] {
	case "<":
		return runtime.Less(a, b), nil
	case "<=":
		return runtime.LessOrEqual(a, b), nil
	case ">":
		return runtime.More(a, b), nil
	}
	return runtime.MoreOrEqual(a, b), nil
}
