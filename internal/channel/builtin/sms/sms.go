// Package sms describes the text channels, sms and mms: one family,
// addressed by the contact's E.164 phone number (one rule, libphonenumber's),
// sharing the "phone" suppression class and the "sms" consent record, so
// a STOP received by SMS also stops MMS. It holds no provider code.
package sms

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// Channel names of the family.
const (
	SMS = "sms"
	MMS = "mms"
)

// Family is the family name of sms and mms.
const Family = "sms"

// ConsentKey is the consent record of both channels (imports carry one
// consent_sms column).
const ConsentKey = "sms"

// Content is an SMS or MMS step's content: Text is a template path, Media
// repository paths or https URLs (MMS only).
type Content struct {
	Text  string
	Media []string
}

// MediaRefs returns the media the step may send, which the media endpoint
// serves and nothing else.
func (c *Content) MediaRefs() []string { return c.Media }

// Address is the phone number of a contact, in E.164.
var Address = &channel.Address{
	Class:      contact.AddrPhone,
	Field:      "phone",
	Normalized: func(c *contact.Contact) string { return strings.TrimSpace(c.Phone) },
	Check: func(c *contact.Contact) error {
		p := strings.TrimSpace(c.Phone)
		switch {
		case p == "" && strings.TrimSpace(c.PhoneRaw) != "":
			// The import kept a number it could not normalize.
			return &channel.InvalidAddressError{Detail: "phone not normalizable"}
		case p == "":
			return channel.ErrNoAddress
		case !contact.IsE164(p):
			return &channel.InvalidAddressError{}
		}
		return nil
	},
}

func base(name string) *channel.Descriptor {
	return &channel.Descriptor{
		Name:           name,
		Family:         Family,
		Address:        Address,
		ConsentKey:     ConsentKey,
		DefaultConsent: map[string]string{contact.KindPerson: "opt_in", contact.KindBusiness: "opt_out"},
		QuietHours:     true,
		SenderKey:      "sms",
		SenderRequired: "sender.sms is required when a step sends SMS or MMS",
	}
}

// NewSMS returns the sms channel's descriptor.
func NewSMS() *channel.Descriptor {
	d := base(SMS)
	d.SegmentCost = true
	d.Block = channel.Block{Keys: []string{"text"}, Decode: decodeSMS, Compose: compose, Preview: preview, Schema: smsSchema}
	return d
}

// NewMMS returns the mms channel's descriptor.
func NewMMS() *channel.Descriptor {
	d := base(MMS)
	d.Block = channel.Block{Keys: []string{"text", "media"}, Decode: decodeMMS, Compose: compose, Preview: preview, Schema: mmsSchema}
	return d
}

func decodeSMS(d channel.BlockDecoder, n *yaml.Node) any {
	s := &Content{}
	d.Mapping(n, SMS, []string{"text"}, func(_ string, v *yaml.Node) {
		s.Text = d.File(v, "sms.text", channel.UseShortText)
	})
	if s.Text == "" {
		d.Errorf(n, "sms needs text")
	}
	return s
}

func decodeMMS(d channel.BlockDecoder, n *yaml.Node) any {
	s := &Content{}
	d.Mapping(n, MMS, []string{"text", "media"}, func(key string, v *yaml.Node) {
		if key == "text" {
			s.Text = d.File(v, "mms.text", channel.UseShortText)
		} else {
			s.Media = d.Media(v, "mms.media")
		}
	})
	if s.Text == "" && len(s.Media) == 0 {
		d.Errorf(n, "mms needs text or media")
	}
	return s
}

func compose(in *channel.ComposeInput, m *channel.Message) error {
	s, ok := in.Content.(*Content)
	if !ok || s == nil {
		return fmt.Errorf("step %s has no %s content", in.Step, in.Channel)
	}
	m.From, m.To = in.Sender, in.Contact.Phone
	var err error
	if m.Text, err = in.Templates.Execute(s.Text, in.Data); err != nil {
		return err
	}
	m.Text = strings.TrimSpace(m.Text)
	for _, ref := range s.Media {
		u := ref
		if in.MediaURL != nil {
			if u, err = in.MediaURL(ref); err != nil {
				return err
			}
		}
		m.MediaURLs = append(m.MediaURLs, u)
	}
	return nil
}

func preview(m *channel.Message) (string, []byte) {
	return m.LedgerID + ".sms.txt", []byte(m.Text + "\n")
}

// smsSchema is the JSON Schema of the sms: block of a step.
const smsSchema = `{
	"type": "object",
	"additionalProperties": false,
	"required": [
		"text"
	],
	"properties": {
		"text": {
			"$ref": "#/$defs/path"
		}
	}
}`

// mmsSchema is the JSON Schema of the mms: block of a step.
const mmsSchema = `{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"text": {
			"$ref": "#/$defs/path"
		},
		"media": {
			"type": "array",
			"items": {
				"anyOf": [
					{
						"type": "string",
						"pattern": "^https://",
						"description": "A public https URL Twilio fetches as it is (no credentials, no private or loopback IP literal)."
					},
					{
						"type": "string",
						"not": {
							"pattern": "://"
						},
						"description": "Path relative to the repository root, served by relais under a signed URL."
					}
				]
			}
		}
	}
}`
