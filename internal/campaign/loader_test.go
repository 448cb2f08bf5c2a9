package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// An audience file larger than MaxInlineAudience is hashed whole and kept
// out of Files, and its header still drives the field check; a smaller
// one is kept whole. Both hashes are of the whole file.
func TestLoadAudienceAroundTheInlineLimit(t *testing.T) {
	const header = "external_id;email;ville\n"
	row := "C%07d;c%07d@example.org;Lyon\n"
	for _, tc := range []struct {
		name   string
		size   int
		inline bool
	}{
		{"small", 1 << 10, true},
		{"at the limit", MaxInlineAudience, true},
		{"large", MaxInlineAudience + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(header)
			for i := 0; b.Len() < tc.size; i++ {
				b.WriteString(fmt.Sprintf(row, i, i))
			}
			audience := b.String()[:tc.size]
			root := writeRepo(t, map[string]string{
				"audiences/a.csv":     audience,
				"templates/ok.txt":    "Bonjour, {{.Contact.Attrs.ville}}",
				"templates/typo.txt":  "Bonjour, {{.Contact.Attrs.vile}}",
				"campaigns/ok.yaml":   inlineLimitCampaign("ok"),
				"campaigns/typo.yaml": inlineLimitCampaign("typo"),
			})
			sp, err := Load(filepath.Join(root, "campaigns/ok.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(audience))
			if sp.AudienceHash != hex.EncodeToString(sum[:]) {
				t.Errorf("AudienceHash = %s, want the SHA-256 of the whole file", sp.AudienceHash)
			}
			kept, ok := sp.Files["audiences/a.csv"]
			if ok != tc.inline || (ok && string(kept) != audience) {
				t.Errorf("audience kept in Files: %v (%d bytes), want %v with the whole file", ok, len(kept), tc.inline)
			}
			_, err = Load(filepath.Join(root, "campaigns/typo.yaml"))
			if err == nil || !strings.Contains(err.Error(), "field .Contact.Attrs.vile is not in the audience audiences/a.csv (did you mean .Contact.Attrs.ville?)") {
				t.Errorf("typo campaign: err = %v, want the field check against the audience header", err)
			}
		})
	}
}

// inlineLimitCampaign is campaign id over audiences/a.csv, whose text is
// templates/<id>.txt.
func inlineLimitCampaign(id string) string {
	return "id: " + id + `
purpose: marketing
channels: [email]
audience: {source: file, file: audiences/a.csv}
sender: {email: "Maison Dupont <news@dupont.example>"}
steps:
  - id: s
    email: {subject: Bonjour, text: templates/` + id + `.txt}
`
}
