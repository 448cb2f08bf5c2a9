package campaign

import (
	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
)

// blockDecoder is the channel.BlockDecoder a channel's Decode gets for
// one step's block: the campaign decoder's helpers, recording positions
// against the step.
type blockDecoder struct {
	d       *decoder
	pos     *positions
	step    int
	channel string
}

var _ channel.BlockDecoder = (*blockDecoder)(nil)

func (b *blockDecoder) Mapping(n *yaml.Node, what string, keys []string, fn func(key string, v *yaml.Node)) {
	b.d.mapping(n, what, keys, func(key string, _, v *yaml.Node) { fn(key, v) })
}

func (b *blockDecoder) String(v *yaml.Node, what string) string    { return b.d.str(v, what) }
func (b *blockDecoder) Bool(v *yaml.Node, what string) bool        { return b.d.boolean(v, what) }
func (b *blockDecoder) Strings(v *yaml.Node, what string) []string { return b.d.strList(v, what) }

func (b *blockDecoder) Errorf(n *yaml.Node, format string, args ...any) {
	b.d.errorf(n, format, args...)
}

func (b *blockDecoder) File(v *yaml.Node, what string, use channel.FileUse) string {
	s := b.d.str(v, what)
	if s != "" {
		b.pos.files = append(b.pos.files, fileRef{rel: s, node: v, use: fileUseOf(use), channel: b.channel})
	}
	if use == channel.UseShortText {
		b.pos.texts = append(b.pos.texts, textRef{step: b.step, channel: b.channel, rel: s, node: v})
	}
	return s
}

func (b *blockDecoder) Files(v *yaml.Node, what string) []string {
	list := b.d.strList(v, what)
	for i, s := range list {
		n := v
		if v.Kind == yaml.SequenceNode {
			n = v.Content[i]
		}
		b.pos.files = append(b.pos.files, fileRef{rel: s, node: n, use: useBinary})
	}
	return list
}

func (b *blockDecoder) Media(v *yaml.Node, what string) []string { return b.d.media(v, what, b.pos) }

func (b *blockDecoder) Subject(v *yaml.Node, what string) string {
	s := b.d.str(v, what)
	b.pos.subjects = append(b.pos.subjects, subjectRef{step: b.step, channel: b.channel, src: s, node: v})
	return s
}
