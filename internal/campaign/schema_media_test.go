package campaign

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// TestSchemaSegmentsAndMedia checks that the JSON Schema agrees with the
// loader on limits.sms_segments and remote MMS media.
func TestSchemaSegmentsAndMedia(t *testing.T) {
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
	const base = "id: s\nchannels: [mms]\nsender: {sms: Dupont}\n"
	tests := []struct {
		name  string
		yaml  string
		valid bool
	}{
		{name: "sms_segments", yaml: base + "limits: {sms_segments: 4}\nsteps: [{id: a, mms: {text: t.txt}}]", valid: true},
		{name: "sms_segments zero", yaml: base + "limits: {sms_segments: 0}\nsteps: [{id: a, mms: {text: t.txt}}]", valid: false},
		{name: "https and path media", yaml: base + "steps: [{id: a, mms: {media: [https://cdn.example/v.jpg, templates/v.png]}}]", valid: true},
		{name: "http media", yaml: base + "steps: [{id: a, mms: {media: [http://cdn.example/v.jpg]}}]", valid: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := yaml.Unmarshal([]byte(tc.yaml), &v); err != nil {
				t.Fatal(err)
			}
			j, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); (err == nil) != tc.valid {
				t.Errorf("valid=%v, err=%v", tc.valid, err)
			}
		})
	}
}
