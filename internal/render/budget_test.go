package render

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRangeOverScalarRefused checks the static check refuses, at compile
// time, ranges over values that are not collections.
func TestRangeOverScalarRefused(t *testing.T) {
	bad := []string{"{{range .Now.UnixNano}}{{end}}", "{{range .Now}}{{end}}", "{{range .Now.Year}}{{end}}",
		"{{range $.Contact.FirstName}}{{end}}", "{{range len .Contact.Attrs}}{{end}}", "{{range 10}}{{end}}",
		"{{with .Now}}{{range .Unix}}{{end}}{{end}}"}
	for _, src := range bad {
		for _, k := range []Kind{Text, HTML} {
			if _, err := Parse("t", k, src); err == nil || !strings.Contains(err.Error(), "range over") {
				t.Errorf("Parse(%q, kind %d) = %v, want a range error", src, k, err)
			}
		}
	}
	good := []string{"{{range .Contact.Attrs.tags}}{{.}}{{end}}", "{{range $k, $v := .Data}}{{$k}}{{end}}", "{{range .Data.items}}{{.}}{{end}}"}
	for _, src := range good {
		if _, err := Parse("t", HTML, src); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

// TestRangeOnDataStopsAtBudget checks a loop over a number known only at
// send time, writing nothing, ends with ErrTimeout within the budget, and
// that the ticks render nothing.
func TestRangeOnDataStopsAtBudget(t *testing.T) {
	for _, k := range []Kind{Text, HTML} {
		tpl, err := Parse("t", k, `<a title="{{range .Data.n}}{{end}}">{{range .Data.list}}{{.}}{{end}}</a>`)
		if err != nil {
			t.Fatal(err)
		}
		tpl.Timeout = 50 * time.Millisecond
		got, err := tpl.Execute(&Data{Data: map[string]any{"n": 2, "list": []string{"a", "b"}}})
		if err != nil || got != `<a title="">ab</a>` {
			t.Errorf("kind %d: %q, %v", k, got, err)
		}
		start := time.Now()
		_, err = tpl.Execute(&Data{Data: map[string]any{"n": int64(1) << 60, "list": nil}})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("kind %d: loop over 2^60: %v, want ErrTimeout", k, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("kind %d: stopped after %s, budget 50ms", k, el)
		}
	}
}
