package audience

import (
	"errors"
	"fmt"
	"strings"

	"github.com/relais-dev/relais/internal/contact"
)

// RowError is a bad row of an import file: it is reported and skipped,
// never silently changed. Line is the physical line where the record
// starts (1-based, the header being line 1). Reason names the column but
// never quotes a cell, since cells hold personal data.
type RowError struct {
	File   string
	Line   int
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

type colKind uint8

const (
	colSkip colKind = iota
	colField
	colAttr
)

// column is what one header resolved to, once per file pass.
type column struct {
	header string
	kind   colKind
	name   string // canonical field or attribute name
	typ    string
	format string
	values map[string]string
}

// plan resolves every header through the mapping: canonical headers map to
// themselves, mapped ones follow their rule, the rest become attributes
// named by their header. Duplicate targets are an error because one cell
// would silently overwrite another.
func plan(headers []string, m *Mapping) ([]column, error) {
	cols := make([]column, len(headers))
	seen := map[string]string{}
	for i, h := range headers {
		h = strings.TrimSpace(h)
		col := column{header: h}
		switch r := m.rule(h); {
		case r != nil && r.Ignore:
			col.kind = colSkip
		case r != nil && r.Field != "":
			col.kind, col.name, col.values = colField, r.Field, r.Values
		case r != nil:
			col.kind, col.name, col.typ, col.format, col.values = colAttr, r.Attr, r.Type, r.Format, r.Values
		case h == "":
			return nil, fmt.Errorf("column %d has an empty header", i+1)
		case isCanonical(strings.ToLower(h)):
			col.kind, col.name = colField, strings.ToLower(h)
		default:
			col.kind, col.name = colAttr, h
		}
		if col.kind != colSkip {
			key := fmt.Sprint(col.kind, col.name)
			if prev, dup := seen[key]; dup {
				return nil, fmt.Errorf("columns %q and %q both set %s", prev, h, col.name)
			}
			seen[key] = h
		}
		cols[i] = col
	}
	return cols, nil
}

// describe lists the canonical fields and attributes a plan provides.
func describe(cols []column) (canonical, attrs []string) {
	for _, c := range cols {
		switch c.kind {
		case colField:
			canonical = append(canonical, c.name)
		case colAttr:
			attrs = append(attrs, c.name)
		}
	}
	return canonical, attrs
}

var errNotInValues = errors.New("value is not in the mapping's values")

// apply stores one trimmed cell into c according to col.
func (col *column) apply(c *contact.Contact, cell string) error {
	if cell == "" || col.kind == colSkip {
		return nil
	}
	if col.values != nil {
		to, ok := col.values[valueKey(cell)]
		if !ok {
			return fmt.Errorf("column %q: %w", col.header, errNotInValues)
		}
		cell = to
	}
	if col.kind == colAttr {
		v, err := convert(cell, col.typ, col.format)
		if err != nil {
			return fmt.Errorf("column %q: %w", col.header, err)
		}
		if c.Attrs == nil {
			c.Attrs = make(map[string]any, 4)
		}
		c.Attrs[col.name] = v
		return nil
	}
	if err := setField(c, col.name, cell); err != nil {
		return fmt.Errorf("column %q: %w", col.header, err)
	}
	return nil
}

// setField sets canonical field name from a text value.
func setField(c *contact.Contact, name, v string) error {
	switch name {
	case "external_id":
		c.ExternalID = v
	case "title":
		c.Title = v
	case "first_name":
		c.FirstName = v
	case "last_name":
		c.LastName = v
	case "company":
		c.Company = v
	case "email":
		c.Email = v
	case "phone":
		c.Phone = v
	case "address_line1":
		c.Address.Line1 = v
	case "address_line2":
		c.Address.Line2 = v
	case "address_line3":
		c.Address.Line3 = v
	case "address_line4":
		c.Address.Line4 = v
	case "postcode":
		c.Address.Postcode = v
	case "city":
		c.Address.City = v
	case "country":
		c.Address.Country = v
	case "locale":
		c.Locale = v
	case "timezone":
		c.Timezone = v
	case "kind":
		c.Kind = v
	case "consent_email", "consent_sms", "consent_postal":
		b, err := parseConsent(v)
		if err != nil {
			return err
		}
		if b != nil {
			if c.Consent == nil {
				c.Consent = make(map[string]*bool, 3)
			}
			c.Consent[strings.TrimPrefix(name, "consent_")] = b
		}
	default:
		return fmt.Errorf("unknown field %s", name)
	}
	return nil
}

// finish normalizes a parsed contact and rejects what normalization cannot
// fix without guessing. warns say what normalization changed that the
// user should know of (a line break folded in a name, a country it could
// not read), naming the column, never quoting the cell.
func finish(c *contact.Contact) (warns []string, err error) {
	for _, f := range []struct {
		name string
		v    string
	}{{"title", c.Title}, {"first_name", c.FirstName}, {"last_name", c.LastName}, {"company", c.Company}} {
		if _, changed := contact.FoldSpaces(f.v); changed {
			warns = append(warns, f.name+": line breaks or repeated spaces replaced by one space")
		}
	}
	if _, ok := contact.NormalizeCountry(c.Address.Country); !ok {
		warns = append(warns, "country: not a known country name or ISO code; kept as written")
	}
	c.Normalize()
	if c.Kind != contact.KindPerson && c.Kind != contact.KindBusiness {
		return nil, errors.New(`kind must be "person" or "business" (map other values with a values map)`)
	}
	return warns, nil
}
