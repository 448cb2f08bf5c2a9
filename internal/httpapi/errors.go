package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// Error is an API error: its HTTP status and the JSON body
// {"error": {"code", "message", "field"}}. Field names the offending
// input (a JSON path such as "recipient.email", a header or a path
// parameter) when there is one. Messages never quote personal data.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Error codes, stable: clients branch on them.
const (
	CodeMalformed      = "malformed"       // 400: not JSON, bad header
	CodeUnauthorized   = "unauthorized"    // 401
	CodeForbidden      = "forbidden"       // 403
	CodeNotFound       = "not_found"       // 404
	CodeConflict       = "conflict"        // 409
	CodeTooLarge       = "too_large"       // 413
	CodeInvalid        = "invalid"         // 422: valid JSON, invalid content
	CodeRateLimited    = "rate_limited"    // 429
	CodeInternal       = "internal"        // 500
	CodeNotImplemented = "not_implemented" // 501
)

func errMalformed(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeMalformed, Message: msg, Field: field}
}
func errInvalid(field, msg string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: msg, Field: field}
}
func errNotFound(field, msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: msg, Field: field}
}
func errConflict(field, msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: msg, Field: field}
}
func errNotImplemented(msg string) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: CodeNotImplemented, Message: msg}
}

var errInternal = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; retry later"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error; retry later"}}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// fail writes err: an *Error as it is, anything else as a 500 logged
// with the route (errors carry ids, never PII, by convention).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeError(w, e)
		return
	}
	s.d.Log.Error("api request failed", "method", r.Method, "path", r.Pattern, "err", err)
	writeError(w, errInternal)
}

// readBody reads the whole body up to limit; a larger body is a 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body larger than %d bytes", limit)}
	}
	if err != nil {
		return nil, errMalformed("", "cannot read request body")
	}
	return b, nil
}

// decodeJSON reads a JSON body into v strictly: one value, no unknown
// field (named with its path), types checked (named with their path).
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) ([]byte, error) {
	b, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	return b, unmarshalStrict(b, v)
}

func unmarshalStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errMalformed("", "empty body: a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return errMalformed("", "unexpected data after the JSON object")
		}
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return errMalformed("", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	case errors.As(err, &typ):
		return errInvalid(typ.Field, fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		path := unknownPath(b, reflect.TypeOf(v))
		if path == "" {
			path = name
		}
		return errInvalid(path, fmt.Sprintf("unknown field %q", name))
	}
	return errMalformed("", "malformed JSON")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// unknownPath finds the first key of the JSON object b that has no field
// in struct type t, descending into nested structs, and returns its
// dotted path ("recipient.nickname"); encoding/json names only the key.
func unknownPath(b []byte, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return ""
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[strings.ToLower(name)] = f.Type
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	// Report in document order: decode order is the order of the text.
	sortByOffset(b, keys)
	for _, k := range keys {
		ft, ok := fields[strings.ToLower(k)]
		if !ok {
			return k
		}
		if sub := unknownPath(obj[k], ft); sub != "" {
			return k + "." + sub
		}
	}
	return ""
}

// sortByOffset orders keys by where `"key"` first appears in b, a good
// enough proxy for document order of an object's top-level keys.
func sortByOffset(b []byte, keys []string) {
	pos := func(k string) int {
		q, _ := json.Marshal(k)
		if i := bytes.Index(b, q); i >= 0 {
			return i
		}
		return len(b)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && pos(keys[j]) < pos(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}
