package campaign

import (
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/contact"
)

// pushChannel is a channel the campaign package has never heard of.
func pushChannel() *channel.Descriptor {
	type content struct{ Title, Body string }
	return &channel.Descriptor{
		Name: "push", ConsentKey: "push", SenderKey: "push",
		Address: &channel.Address{Class: "push",
			Normalized: func(*contact.Contact) string { return "" },
			Check:      func(*contact.Contact) error { return channel.ErrNoAddress }},
		Block: channel.Block{
			Decode: func(d channel.BlockDecoder, n *yaml.Node) any {
				c := &content{}
				d.Mapping(n, "push", []string{"title", "body"}, func(key string, v *yaml.Node) {
					if key == "title" {
						c.Title = d.Subject(v, "push.title")
					} else {
						c.Body = d.File(v, "push.body", channel.UseText)
					}
				})
				return c
			},
			Compose: func(*channel.ComposeInput, *channel.Message) error { return nil },
		},
	}
}

// A Loader knows the channels of its registry: their names, step blocks
// (with positioned errors from the channel's own decoder), sender keys,
// limits and costs; the built-in loader does not know them.
func TestLoaderWithAnotherChannel(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"templates/push.txt": "Bonjour {{.Contact.FirstName}}",
		"campaigns/c.yaml": `id: c
purpose: transactional
channels: [push]
sender: { push: app-1 }
steps:
  - id: s
    push:
      title: "Pour {{.Contact.FirstName}}"
      body: templates/push.txt
limits: { push: 5/s }
cost: { currency: EUR, push: 0.001 }
`,
		"campaigns/bad.yaml": `id: bad
purpose: transactional
channels: [push]
steps:
  - id: s
    push:
      titel: x
      body: templates/push.txt
`,
	})
	reg := builtin.Channels()
	if err := reg.Register(pushChannel()); err != nil {
		t.Fatal(err)
	}
	l := Loader{Channels: reg}
	sp, err := l.Load(filepath.Join(root, "campaigns", "c.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if sp.Sender.For("push") != "app-1" || sp.Limits.Rates["push"].N != 5 || sp.Cost.PerUnit["push"] != 0.001 {
		t.Errorf("sender %v, limits %v, cost %v", sp.Sender, sp.Limits.Rates, sp.Cost.PerUnit)
	}
	if sp.Steps[0].Content["push"] == nil || sp.Template(SubjectKey("s", "push")) == nil || sp.Template("templates/push.txt") == nil {
		t.Errorf("push block not decoded and compiled: %+v", sp.Steps[0])
	}

	bad := filepath.Join(root, "campaigns", "bad.yaml")
	errs := l.Validate(bad)
	want := []string{
		bad + ":1:1: sender.push is required when a step sends push",
		bad + `:7:7: unknown key "titel" in push (did you mean "title"?)`,
	}
	if len(errs) != len(want) || errs[0].Error() != want[0] || errs[1].Error() != want[1] {
		t.Errorf("errors %v, want %v", errs, want)
	}

	errs = Validate(filepath.Join(root, "campaigns", "c.yaml"))
	if len(errs) == 0 || !strings.Contains(errs[0].Msg, `unknown channel "push" (channels: email, sms, mms, print)`) {
		t.Errorf("built-in loader errors %v", errs)
	}
}
