package render

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseExecute checks that no template source can crash Parse or
// Execute, exceed the output bound, or produce an error that is not a
// *Error or one of the bound errors.
func FuzzParseExecute(f *testing.F) {
	for _, s := range []string{
		"Bonjour {{.Contact.FirstName}}",
		`{{.Now | date "long"}} {{money 12.5 "EUR"}}`,
		`{{range .Contact.Attrs.tags}}{{.}}{{end}}`,
		`<p>{{.Contact.LastName | upper}}</p>`,
		`{{with .Contact.Address}}{{.City}}{{end}}`,
		"{{", "{{end}}", `{{template "x"}}`,
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, src string, asHTML bool) {
		kind := Text
		if asHTML {
			kind = HTML
		}
		tpl, err := Parse("fuzz", kind, src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("Parse error %T %v", err, err)
			}
			return
		}
		tpl.MaxOutput = 4096
		tpl.Timeout = time.Second
		d := &Data{Contact: ContactData{FirstName: "A", Attrs: map[string]any{"tags": []string{"x", "y"}}}}
		out, err := tpl.Execute(d)
		if err == nil && len(out) > 4096 {
			t.Fatalf("output of %d bytes exceeds the bound", len(out))
		}
		_ = tpl.Fields()
	})
}
