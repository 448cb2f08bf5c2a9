package simulate

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/store"
)

// Scenario is what recipients do during a simulation.
type Scenario struct {
	Events []ScenarioEvent `yaml:"events" json:"events"`
}

// ScenarioEvent is one recipient event at a virtual time.
type ScenarioEvent struct {
	At time.Time `yaml:"at" json:"at"`
	// Recipient is the contact's external id or email address.
	Recipient string `yaml:"recipient" json:"recipient"`
	// Type is open, click, reply, coupon (a reply coupon or personal URL
	// returned), conversion, opt_out or bounce.
	Type string `yaml:"type" json:"type"`
	// Step is the step the event answers; default: the last step the
	// recipient was sent.
	Step string `yaml:"step,omitempty" json:"step,omitempty"`
}

// eventTypes maps scenario types to the ledger's event types.
var eventTypes = map[string]string{
	"open":       store.EventOpened,
	"click":      store.EventClicked,
	"reply":      store.EventReplied,
	"coupon":     store.EventResponded,
	"conversion": store.EventConverted,
	"opt_out":    store.EventUnsubscribed,
	"bounce":     store.EventBounced,
}

// LoadScenario reads a scenario file (YAML; unknown keys are errors).
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, e := range sc.Events {
		if _, ok := eventTypes[e.Type]; !ok {
			return nil, fmt.Errorf("%s: event %d: unknown type %q (want open, click, reply, coupon, conversion, opt_out or bounce)", path, i+1, e.Type)
		}
		if e.Recipient == "" || e.At.IsZero() {
			return nil, fmt.Errorf("%s: event %d: at and recipient are required", path, i+1)
		}
	}
	slices.SortStableFunc(sc.Events, func(a, b ScenarioEvent) int { return a.At.Compare(b.At) })
	return &sc, nil
}
