package audience

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/contact"
)

// Mapping says what each column of an import file means when its header
// is not a canonical field name. The zero value and nil both map
// nothing: canonical headers map to themselves, others become attributes
// named by their header with automatic number detection.
type Mapping struct {
	// Path is the mapping file, for error messages.
	Path string
	// Rules by header, in file order.
	Rules []*Rule

	byHeader map[string]*Rule // key: normalized header
}

// Rule maps one header. Exactly one of Field, Attr or Ignore is set.
type Rule struct {
	Header string
	// Field is a canonical field name (contact.CanonicalFields).
	Field string
	// Attr is the attribute name the column is stored under.
	Attr string
	// Type is one of the Type* constants; TypeAuto by default.
	Type string
	// Format is the Go time layout of a TypeDate cell (default "2006-01-02").
	Format string
	// Values maps cell values (matched case-insensitively) to the stored
	// value; with a value map, a cell outside it is a row error.
	Values map[string]string
	// Ignore drops the column.
	Ignore bool
	// Line and Column locate the rule in the mapping file (1-based).
	Line, Column int
}

// MappingError is a mistake in a mapping file, located for `path:line:col`
// output.
type MappingError struct {
	Path         string
	Line, Column int
	Msg          string
}

func (e *MappingError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Column, e.Msg)
}

// LoadMapping reads a YAML mapping file. Each key is a header; its value is
// a canonical field name ("Prénom: first_name"), "attrs.NAME", "ignore", or
// a map with field|attr, type (string, number, date, bool), format (date
// layout such as 02/01/2006), values (value map) or ignore: true. Errors
// are *MappingError with the line and column of the faulty node; an
// unreadable file is wrapped as is.
func LoadMapping(path string) (*Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return ParseMapping(path, data)
}

// ParseMapping is LoadMapping on bytes already read (campaign loading keeps
// every referenced file in memory for hashing); path is used in errors.
func ParseMapping(path string, data []byte) (*Mapping, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := &Mapping{Path: path, byHeader: map[string]*Rule{}}
	if len(doc.Content) == 0 {
		return m, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, m.errAt(root, "a mapping file is a map of column header to target")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		r, err := m.parseRule(k, v)
		if err != nil {
			return nil, err
		}
		key := headerKey(r.Header)
		if _, dup := m.byHeader[key]; dup {
			return nil, m.errAt(k, fmt.Sprintf("column %q is mapped twice", r.Header))
		}
		m.byHeader[key] = r
		m.Rules = append(m.Rules, r)
	}
	return m, nil
}

func (m *Mapping) errAt(n *yaml.Node, msg string) error {
	return &MappingError{Path: m.Path, Line: n.Line, Column: n.Column, Msg: msg}
}

func (m *Mapping) parseRule(k, v *yaml.Node) (*Rule, error) {
	if k.Kind != yaml.ScalarNode || strings.TrimSpace(k.Value) == "" {
		return nil, m.errAt(k, "column header must be a non-empty string")
	}
	r := &Rule{Header: strings.TrimSpace(k.Value), Line: k.Line, Column: k.Column}
	switch v.Kind {
	case yaml.ScalarNode:
		if err := m.setTarget(r, v, v.Value); err != nil {
			return nil, err
		}
		return r, nil
	case yaml.MappingNode:
	default:
		return nil, m.errAt(v, "target must be a field name or a map (field, attr, type, format, values, ignore)")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		kk, vv := v.Content[i], v.Content[i+1]
		switch kk.Value {
		case "field":
			if r.Field != "" || r.Attr != "" {
				return nil, m.errAt(kk, "only one of field and attr")
			}
			if !isCanonical(vv.Value) {
				return nil, m.errAt(vv, fmt.Sprintf("unknown field %q (known: %s)", vv.Value, strings.Join(contact.CanonicalFields, ", ")))
			}
			r.Field = vv.Value
		case "attr":
			if r.Field != "" || r.Attr != "" {
				return nil, m.errAt(kk, "only one of field and attr")
			}
			if !validAttrName(vv.Value) {
				return nil, m.errAt(vv, fmt.Sprintf("attribute name %q must be letters, digits and _ (usable as attrs.NAME)", vv.Value))
			}
			r.Attr = vv.Value
		case "type":
			switch vv.Value {
			case TypeString, TypeNumber, TypeDate, TypeBool:
				r.Type = vv.Value
			default:
				return nil, m.errAt(vv, fmt.Sprintf("unknown type %q (string, number, date, bool)", vv.Value))
			}
		case "format":
			r.Format = vv.Value
		case "ignore":
			var b bool
			if err := vv.Decode(&b); err != nil {
				return nil, m.errAt(vv, "ignore must be true or false")
			}
			r.Ignore = b
		case "values":
			if vv.Kind != yaml.MappingNode {
				return nil, m.errAt(vv, "values must be a map of cell value to stored value")
			}
			r.Values = map[string]string{}
			for j := 0; j+1 < len(vv.Content); j += 2 {
				from, to := vv.Content[j], vv.Content[j+1]
				if to.Kind != yaml.ScalarNode {
					return nil, m.errAt(to, "a mapped value must be a scalar")
				}
				r.Values[valueKey(from.Value)] = to.Value
			}
		default:
			return nil, m.errAt(kk, fmt.Sprintf("unknown key %q (field, attr, type, format, values, ignore)", kk.Value))
		}
	}
	switch {
	case r.Ignore && (r.Field != "" || r.Attr != ""):
		return nil, m.errAt(k, "an ignored column has no field or attr")
	case !r.Ignore && r.Field == "" && r.Attr == "":
		return nil, m.errAt(v, "needs field, attr or ignore: true")
	case r.Format != "" && r.Type != TypeDate:
		return nil, m.errAt(v, "format only applies to type: date")
	case r.Field != "" && r.Type != "" && r.Type != TypeString:
		return nil, m.errAt(v, "a canonical field is text; type applies to attributes")
	}
	if r.Field == "kind" && r.Values != nil {
		for from, to := range r.Values {
			if to != contact.KindPerson && to != contact.KindBusiness {
				return nil, m.errAt(v, fmt.Sprintf("kind value %q maps to %q, want person or business", from, to))
			}
		}
	}
	return r, nil
}

// setTarget handles the short scalar form.
func (m *Mapping) setTarget(r *Rule, n *yaml.Node, target string) error {
	switch {
	case target == "ignore":
		r.Ignore = true
	case isCanonical(target):
		r.Field = target
	case strings.HasPrefix(target, "attrs.") && validAttrName(target[len("attrs."):]):
		r.Attr = target[len("attrs."):]
	default:
		return m.errAt(n, fmt.Sprintf("unknown target %q: a canonical field (%s), attrs.NAME or ignore",
			target, strings.Join(contact.CanonicalFields, ", ")))
	}
	return nil
}

// rule returns the rule for a header, or nil.
func (m *Mapping) rule(header string) *Rule {
	if m == nil {
		return nil
	}
	key := headerKey(header)
	if m.byHeader == nil { // built by hand rather than parsed: no index, and no lazy write that would race
		for _, r := range m.Rules {
			if headerKey(r.Header) == key {
				return r
			}
		}
		return nil
	}
	return m.byHeader[key]
}

// headerKey makes "Prénom" typed in an editor (NFC) and "Pre\u0301nom"
// exported by some tools (NFD) match, along with case and spaces.
func headerKey(h string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(h)))
}

func valueKey(v string) string { return strings.ToLower(norm.NFC.String(strings.TrimSpace(v))) }

func isCanonical(name string) bool { return slices.Contains(contact.CanonicalFields, name) }

// validAttrName keeps attribute names usable as attrs.NAME in expressions
// and .Contact.Attrs.NAME in templates.
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
