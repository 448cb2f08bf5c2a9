package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// EncodeAttrs stores nil and empty attributes as "{}" so the column is
// never NULL.
func EncodeAttrs(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode attrs: %w", err)
	}
	return string(b), nil
}

// DecodeAttrs reads attributes back, keeping integers as int64 (plain
// encoding/json would turn every number into float64, so an imported
// "12" would come back as 12.0 in templates).
func DecodeAttrs(s string) (map[string]any, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode attrs: %w", err)
	}
	for k, v := range m {
		m[k] = numbers(v)
	}
	return m, nil
}

// numbers converts json.Number values, recursively, to int64 when they
// are integers and to float64 otherwise.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// EncodeConsent drops unknown (nil) entries and stores NULL when nothing is
// known, so "unknown" reads back as a nil map.
func EncodeConsent(m map[string]*bool) (any, error) {
	known := make(map[string]bool, len(m))
	for k, v := range m {
		if v != nil {
			known[k] = *v
		}
	}
	if len(known) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(known)
	if err != nil {
		return nil, fmt.Errorf("encode consent: %w", err)
	}
	return string(b), nil
}

// DecodeConsent reads a consent column back (NULL or empty: nil map).
func DecodeConsent(b []byte) (map[string]*bool, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	var m map[string]*bool
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode consent: %w", err)
	}
	return m, nil
}
