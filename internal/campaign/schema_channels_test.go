package campaign

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/relais-dev/relais/internal/channel/builtin"
)

// The JSON Schema in docs/ says of each step block what the channel's
// descriptor says (Block.Schema), and lists exactly the registered
// channels, so the schema editors use cannot drift from the channels.
func TestSchemaChannelBlocks(t *testing.T) {
	b, err := os.ReadFile("../../docs/campaign.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			Channel struct {
				Enum []string `json:"enum"`
			} `json:"channel"`
			Step struct {
				Properties map[string]any `json:"properties"`
			} `json:"step"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	reg := builtin.Channels()
	if !reflect.DeepEqual(schema.Defs.Channel.Enum, reg.Names()) {
		t.Errorf("schema channel enum %v, registry %v", schema.Defs.Channel.Enum, reg.Names())
	}
	for _, d := range reg.All() {
		var want any
		if err := json.Unmarshal([]byte(d.Block.Schema), &want); err != nil {
			t.Fatalf("%s: Block.Schema is not JSON: %v", d.Name, err)
		}
		if got := schema.Defs.Step.Properties[d.Name]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: docs schema block differs from the descriptor's:\n docs %v\n desc %v", d.Name, got, want)
		}
	}
}
