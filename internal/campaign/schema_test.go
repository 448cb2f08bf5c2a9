package campaign

import (
	"bytes"

	"encoding/json"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/relais-dev/relais/internal/channel/builtin"
)

// TestSchemaListsLoaderKeys keeps docs/campaign.schema.json in step with
// the loader: every key the loader knows is in the schema and no more.
func TestSchemaListsLoaderKeys(t *testing.T) {
	b, err := os.ReadFile("../../docs/campaign.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Schema     string                     `json:"$schema"`
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("schema is not valid JSON: %v", err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	tests := []struct {
		name      string
		got, want []string
	}{
		{name: "top level", got: keys(schema.Properties), want: sorted(TopLevelKeys)},
		{name: "step", got: keys(schema.Defs["step"].Properties), want: sorted((&decoder{reg: builtin.Channels()}).stepKeys())},
		{name: "audience", got: keys(schema.Defs["audience"].Properties), want: sorted(audienceKeys)},
	}
	if schema.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q, want draft 2020-12", schema.Schema)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("schema keys %v, loader keys %v", tc.got, tc.want)
			}
		})
	}
}

// TestSchemaAcceptsExample compiles the schema as draft 2020-12 and checks
// that the French example passes and a file with an unknown key does not,
// so editors using it agree with Validate.
func TestSchemaAcceptsExample(t *testing.T) {
	f, err := os.Open("../../docs/campaign.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("campaign.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("campaign.schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	tests := []struct {
		name  string
		file  string
		valid bool
	}{
		{name: "french example", file: "testdata/ok/campaigns/printemps-2027.yaml", valid: true},
		{name: "unknown key", file: "testdata/bad/campaigns/unknown_key.yaml", valid: false},
		{name: "at and after", file: "testdata/bad/campaigns/at_and_after.yaml", valid: false},
		{name: "duration without unit", file: "testdata/bad/campaigns/duration_no_unit.yaml", valid: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := yaml.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			// Round-trip through JSON as an editor does (timestamps become strings).
			j, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
			if err != nil {
				t.Fatal(err)
			}
			err = sch.Validate(inst)
			if (err == nil) != tc.valid {
				t.Errorf("valid=%v, err=%v", tc.valid, err)
			}
		})
	}
}
