package campaign

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
)

// audienceFields computes which attributes the audience provides, for the
// template field check: nil means any attribute (the contact store's
// attributes are free-form); with source: file, the columns that are
// neither canonical nor mapped to a canonical field, by their attribute
// name.
func (c *checker) audienceFields() {
	a := c.sp.Audience
	if a.Source != "file" || c.audienceHead == nil {
		return
	}
	mapped := map[string]mapTarget{}
	if a.Mapping != "" {
		if b, ok := c.sp.Files[a.Mapping]; ok {
			mapped = c.parseMapping(a.Mapping, b)
		}
	}
	var headers []string
	switch strings.ToLower(filepath.Ext(a.File)) {
	case ".jsonl", ".ndjson", ".json":
		headers = jsonKeys(c.audienceHead)
	default:
		headers = csvHeader(c.audienceHead)
	}
	attrs := []string{}
	for _, h := range headers {
		if t, ok := mapped[h]; ok {
			if t.attr != "" {
				attrs = append(attrs, t.attr)
			}
			continue
		}
		if contains(contact.CanonicalFields, strings.ToLower(h)) {
			continue
		}
		attrs = append(attrs, h)
	}
	c.attrs = attrs
}

// csvHeader reads the first record of a CSV file, stripping a UTF-8 BOM,
// decoding Windows-1252 when the bytes are not UTF-8 (French spreadsheet
// exports) and sniffing ';' or ',' as the separator.
func csvHeader(b []byte) []string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	if !utf8.Valid(line) {
		if dec, err := charmap.Windows1252.NewDecoder().Bytes(line); err == nil {
			line = dec
		}
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	if bytes.Count(line, []byte(";")) > bytes.Count(line, []byte(",")) {
		r.Comma = ';'
	}
	rec, err := r.Read()
	if err != nil {
		return nil
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	return rec
}

// jsonKeys returns the keys of the first JSONL object; the keys of a
// nested "attrs" object count as attributes themselves.
func jsonKeys(b []byte) []string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(line, &obj) != nil {
			return nil
		}
		var keys []string
		for k, v := range obj {
			if k == "attrs" {
				var inner map[string]json.RawMessage
				if json.Unmarshal(v, &inner) == nil {
					for ik := range inner {
						keys = append(keys, ik)
					}
					continue
				}
			}
			if k == "address" || k == "consent" {
				continue
			}
			keys = append(keys, k)
		}
		return keys
	}
	return nil
}

// mapTarget is where a mapped column goes: a canonical field or an
// attribute.
type mapTarget struct {
	field, attr string
}

// parseMapping reads a mapping file: "Header: field" or
// "Header: {field|attr: x, type: …, values: {…}, format: …}". Problems are
// reported in the mapping file. Only the targets matter here; the audience
// importer applies types and value maps.
func (c *checker) parseMapping(rel string, b []byte) map[string]mapTarget {
	out := map[string]mapTarget{}
	md := &decoder{file: filepath.Join(c.sp.Root, filepath.FromSlash(rel))}
	defer func() { c.errs = append(c.errs, md.errs...) }()
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		md.errs = append(md.errs, yamlError(md.file, err))
		return out
	}
	if len(root.Content) == 0 {
		return out
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		md.errorf(m, "mapping file must map column headers to fields")
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		var t mapTarget
		if v.Kind == yaml.ScalarNode {
			t.field = v.Value
		} else {
			md.mapping(v, "column "+k.Value, []string{"field", "attr", "type", "values", "format"}, func(key string, _, v *yaml.Node) {
				switch key {
				case "field":
					t.field = md.str(v, "field")
				case "attr":
					t.attr = md.str(v, "attr")
				case "type":
					md.oneOf(v, "type", []string{"string", "number", "date", "bool"})
				}
			})
			if t.field == "" && t.attr == "" {
				md.errorf(v, "column %q needs field or attr", k.Value)
			}
		}
		if t.field != "" && !contains(contact.CanonicalFields, t.field) {
			msg := "unknown field " + quote(t.field) + " (use attr: for a free attribute)"
			if s := render.Closest(t.field, contact.CanonicalFields); s != "" {
				msg += " (did you mean " + quote(s) + "?)"
			}
			md.errorf(v, "%s", msg)
		}
		out[k.Value] = t
	}
	return out
}
