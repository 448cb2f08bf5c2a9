package audience

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/relais-dev/relais/internal/contact"
)

// maxJSONLine bounds one JSONL record; a longer line is an error, not an
// unbounded allocation.
const maxJSONLine = 16 << 20

// fieldsSampleLines is how many JSONL records Fields looks at.
const fieldsSampleLines = 1000

// eachJSONL is one streaming pass over a JSONL file. A record is either
// flat (canonical keys plus any other key as an attribute) or shaped like
// contact.Contact's JSON (address, attrs and consent objects); JSON types
// are kept as they are (numbers stay numbers, strings stay strings)
// unless the mapping gives a type.
func (s *FileSource) eachJSONL(ctx context.Context, f io.Reader, fn func(c *contact.Contact) error) error {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLine)
	for line := 1; sc.Scan(); line++ {
		if line&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(b) == 0 {
			continue
		}
		c, warns, err := s.buildJSON(b)
		if err != nil {
			s.rowError(line, err.Error())
			continue
		}
		s.rowWarnings(line, warns)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("audience: %s: %w", s.Path, err)
	}
	return nil
}

func (s *FileSource) buildJSON(b []byte) (*contact.Contact, []string, error) {
	var rec map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&rec); err != nil || rec == nil {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	c := &contact.Contact{}
	for k, v := range rec {
		if err := s.applyJSON(c, k, v); err != nil {
			return nil, nil, err
		}
	}
	warns, err := finish(c)
	if err != nil {
		return nil, nil, err
	}
	return c, warns, nil
}

func (s *FileSource) applyJSON(c *contact.Contact, key string, v any) error {
	if v == nil {
		return nil
	}
	if r := s.Mapping.rule(key); r != nil {
		col := column{header: key, typ: r.Type, format: r.Format, values: r.Values}
		switch {
		case r.Ignore:
			return nil
		case r.Field != "":
			col.kind, col.name = colField, r.Field
		default:
			col.kind, col.name = colAttr, r.Attr
		}
		text, ok := jsonText(v)
		if !ok {
			return fmt.Errorf("key %q: want a string, number or boolean", key)
		}
		return col.apply(c, strings.TrimSpace(text))
	}
	switch key {
	case "attrs":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("key %q: want an object", key)
		}
		for ak, av := range m {
			setAttr(c, ak, jsonValue(av))
		}
		return nil
	case "consent":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("key %q: want an object", key)
		}
		for ch, cv := range m {
			if err := applyJSONField(c, "consent_"+ch, cv); err != nil {
				return err
			}
		}
		return nil
	case "address":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("key %q: want an object", key)
		}
		for ak, av := range m {
			name := ak
			if strings.HasPrefix(ak, "line") {
				name = "address_" + ak
			}
			if err := applyJSONField(c, name, av); err != nil {
				return err
			}
		}
		return nil
	case "id", "created_at", "updated_at", "email_norm", "phone_raw":
		return nil // store-owned or derived: recomputed, never imported
	}
	if isCanonical(key) {
		return applyJSONField(c, key, v)
	}
	setAttr(c, key, jsonValue(v))
	return nil
}

func applyJSONField(c *contact.Contact, name string, v any) error {
	if v == nil {
		return nil
	}
	if !isCanonical(name) {
		return fmt.Errorf("unknown field %q", name)
	}
	text, ok := jsonText(v)
	if !ok {
		return fmt.Errorf("key %q: want a string, number or boolean", name)
	}
	if err := setField(c, name, strings.TrimSpace(text)); err != nil {
		return fmt.Errorf("key %q: %w", name, err)
	}
	return nil
}

func setAttr(c *contact.Contact, k string, v any) {
	if c.Attrs == nil {
		c.Attrs = make(map[string]any, 4)
	}
	c.Attrs[k] = v
}

// jsonText renders a scalar for the text paths (fields, mapped columns).
func jsonText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// jsonValue turns decoder output into attribute values: integral numbers
// become int, others float64, objects and arrays stay as decoded.
func jsonValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(x.String()); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		for k, e := range x {
			x[k] = jsonValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonValue(e)
		}
	}
	return v
}

// jsonlFields collects the fields and attributes seen in the first records.
func jsonlFields(s *FileSource) (canonical, attrs []string, err error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("audience: %w", err)
	}
	defer f.Close()
	n := 0
	err = s.eachJSONL(context.Background(), f, func(c *contact.Contact) error {
		if n++; n > fieldsSampleLines {
			return io.EOF
		}
		canonical = appendPresent(canonical, c)
		for k := range c.Attrs {
			attrs = appendUnique(attrs, k)
		}
		return nil
	})
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	return canonical, attrs, nil
}

// appendPresent adds the canonical fields c has a value for.
func appendPresent(list []string, c *contact.Contact) []string {
	env := Env(c)
	for _, name := range contact.CanonicalFields {
		switch name {
		case "consent_email", "consent_sms", "consent_postal":
			if c.Consent[strings.TrimPrefix(name, "consent_")] != nil {
				list = appendUnique(list, name)
			}
			continue
		case "address_line1":
			if c.Address.Line1 == "" {
				continue
			}
		case "address_line2":
			if c.Address.Line2 == "" {
				continue
			}
		case "address_line3":
			if c.Address.Line3 == "" {
				continue
			}
		case "address_line4":
			if c.Address.Line4 == "" {
				continue
			}
		default:
			if s, _ := env[name].(string); s == "" {
				continue
			}
		}
		list = appendUnique(list, name)
	}
	return list
}
