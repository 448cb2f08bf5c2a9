package channel

import (
	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
)

// Block is a channel's content block in a campaign step (email:, sms:…):
// the channel decodes it and composes messages from it, so the campaign
// package knows no channel's keys.
type Block struct {
	// Keys are the block's keys, for "unknown key" hints.
	Keys []string
	// Decode reads the block from the campaign file through d, which
	// keeps positions for errors; it returns the channel's own content
	// value, handed back to Compose.
	Decode func(d BlockDecoder, n *yaml.Node) any
	// Compose fills the channel's part of m (addresses, subject, body,
	// attachments) for one recipient.
	Compose func(in *ComposeInput, m *Message) error
	// Preview names the file a preview of m is written to and its
	// contents; nil leaves preview to the channel's provider.
	Preview func(m *Message) (name string, data []byte)
	// Schema is the JSON Schema (draft 2020-12) of the block, as
	// docs/campaign.schema.json writes it under a step's properties, so
	// editors validate what Decode accepts; it may refer to the schema's
	// $defs (path, paths).
	Schema string
}

// FileUse says how a file a block references is used: which escaping its
// template gets, and the checks it needs.
type FileUse int

// File uses.
const (
	// UseBinary files are read and hashed only (attachments, inserts).
	UseBinary FileUse = iota
	// UseHTML is an HTML template (auto-escaped).
	UseHTML
	// UseText is a text template.
	UseText
	// UseShortText is a text message template: marketing ones must carry
	// an opt-out mention, and validate counts its segments for sample
	// recipients.
	UseShortText
)

// BlockDecoder is what a Block's Decode is given: the campaign decoder's
// helpers, which record every problem with its position and every file
// the campaign references.
type BlockDecoder interface {
	// Mapping calls fn for each key of n, reporting unknown keys (with a
	// hint among keys) and duplicates; what names n in messages.
	Mapping(n *yaml.Node, what string, keys []string, fn func(key string, v *yaml.Node))
	// String, Bool and Strings decode scalars and lists of strings.
	String(v *yaml.Node, what string) string
	Bool(v *yaml.Node, what string) bool
	Strings(v *yaml.Node, what string) []string
	// File decodes a path relative to the campaign repository and has it
	// read, hashed and (for template uses) compiled.
	File(v *yaml.Node, what string, use FileUse) string
	// Files decodes a list of binary files.
	Files(v *yaml.Node, what string) []string
	// Media decodes MMS-style media: repository files or https URLs.
	Media(v *yaml.Node, what string) []string
	// Subject decodes an inline text template (a subject line), compiled
	// under SubjectKey(step, channel).
	Subject(v *yaml.Node, what string) string
	// Errorf reports a problem at n.
	Errorf(n *yaml.Node, format string, args ...any)
}

// Templates executes a campaign's compiled templates and reads its files.
type Templates interface {
	// Execute runs the template key (a file path or a subject key).
	Execute(key string, d *render.Data) (string, error)
	// File returns a referenced file's content as read at load time.
	File(path string) []byte
	// SubjectKey is the key of the step's inline subject for channel.
	SubjectKey(step, channel string) string
}

// ComposeInput is what a Block's Compose is given for one recipient.
type ComposeInput struct {
	Content   any // the step's block, as Decode returned it
	Step      string
	Channel   string
	Sender    string   // the campaign's sender.<SenderKey>
	Postal    []string // the campaign's postal sender block (name, lines)
	Contact   *contact.Contact
	Data      *render.Data
	Templates Templates
	// MediaURL turns a media reference into the URL a provider fetches.
	MediaURL func(ref string) (string, error)
}
