// Package print describes the print channel (letters): addressed by the
// contact's postal address, which must be writable to the French standard
// NF Z10-011, opt-out for everyone, content from a letter template with
// an optional subject line, inserts and reply coupon. Letters are spooled
// per run and assembled into batches by the provider.
package print

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/postal"
)

// Name is the channel's name in campaign files and on ledger rows.
const Name = "print"

// Content is a letter step's content.
type Content struct {
	Letter      string
	Subject     string
	Inserts     []string
	ReplyCoupon bool
}

// Address is the postal address of a contact. A postal address that
// cannot be written to NF Z10-011 (at most 6 lines of 38 characters) is
// refused as invalid, never printed truncated.
var Address = &channel.Address{
	Class:      contact.AddrPostal,
	Field:      "address_line1",
	Normalized: func(c *contact.Contact) string { return contact.NormalizePostal(c.Address) },
	Check: func(c *contact.Contact) error {
		a := c.Address
		switch {
		case contact.NormalizePostal(a) == "" && strings.TrimSpace(a.Line1+a.Line2+a.Line3+a.Line4+a.Postcode+a.City) != "":
			return &channel.InvalidAddressError{Detail: "incomplete postal address"}
		case contact.NormalizePostal(a) == "":
			return channel.ErrNoAddress
		case strings.TrimSpace(a.City) == "":
			return &channel.InvalidAddressError{}
		}
		if _, err := postal.Address(c); err != nil {
			return &channel.InvalidAddressError{}
		}
		return nil
	},
}

// New returns the print channel's descriptor.
func New() *channel.Descriptor {
	return &channel.Descriptor{
		Name:           Name,
		Address:        Address,
		ConsentKey:     "postal",
		DefaultConsent: map[string]string{contact.KindPerson: "opt_out", contact.KindBusiness: "opt_out"},
		Spooled:        true,
		ResponseCode:   true,
		Block: channel.Block{
			Keys:    []string{"letter", "subject", "inserts", "reply_coupon"},
			Decode:  decode,
			Compose: compose,
			Schema:  schema,
		},
	}
}

func decode(d channel.BlockDecoder, n *yaml.Node) any {
	p := &Content{}
	d.Mapping(n, Name, []string{"letter", "subject", "inserts", "reply_coupon"}, func(key string, v *yaml.Node) {
		switch key {
		case "letter":
			p.Letter = d.File(v, "print.letter", channel.UseText)
		case "subject":
			p.Subject = d.Subject(v, "print.subject")
		case "inserts":
			p.Inserts = d.Files(v, "print.inserts")
		case "reply_coupon":
			p.ReplyCoupon = d.Bool(v, "print.reply_coupon")
		}
	})
	if p.Letter == "" {
		d.Errorf(n, "print needs a letter")
	}
	return p
}

func compose(in *channel.ComposeInput, m *channel.Message) error {
	p, ok := in.Content.(*Content)
	if !ok || p == nil {
		return fmt.Errorf("step %s has no print content", in.Step)
	}
	m.SenderPostal = in.Postal
	var err error
	if p.Subject != "" {
		if m.Subject, err = in.Templates.Execute(in.Templates.SubjectKey(in.Step, Name), in.Data); err != nil {
			return err
		}
	}
	if m.Text, err = in.Templates.Execute(p.Letter, in.Data); err != nil {
		return err
	}
	for _, a := range p.Inserts {
		m.Inserts = append(m.Inserts, channel.FileAttachment(a, in.Templates.File(a)))
	}
	if !p.ReplyCoupon {
		m.ResponseCode, m.ResponseURL = "", ""
	}
	return nil
}

// schema is the JSON Schema of the print: block of a step.
const schema = `{
	"type": "object",
	"additionalProperties": false,
	"required": [
		"letter"
	],
	"properties": {
		"letter": {
			"$ref": "#/$defs/path"
		},
		"subject": {
			"type": "string"
		},
		"inserts": {
			"$ref": "#/$defs/paths"
		},
		"reply_coupon": {
			"type": "boolean",
			"default": false
		}
	}
}`
