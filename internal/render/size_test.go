package render

import (
	"strings"
	"testing"
)

// TestExecuteOutputsOfVaryingSize checks that outputs are right whatever
// the size of the previous one (the buffer starts at that size).
func TestExecuteOutputsOfVaryingSize(t *testing.T) {
	for _, kind := range []Kind{HTML, Text} {
		tpl, err := Parse("sizes", kind, `{{range .Data.items}}<p>{{.}}</p>{{end}}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 3, 5000, 1, 0, 4999, 2} {
			items := make([]string, n)
			for i := range items {
				items[i] = "x"
			}
			out, err := tpl.Execute(&Data{Data: map[string]any{"items": items}})
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Repeat("<p>x</p>", n); out != want {
				t.Fatalf("kind %d, %d items: %d bytes, want %d", kind, n, len(out), len(want))
			}
		}
	}
}
