// Package email describes the email channel: addressed by the contact's
// email address, opt-in for people, tracked, content from an HTML and/or
// text template with an inline subject. It holds no SMTP code; providers
// attach their senders to it.
package email

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
)

// Name is the channel's name in campaign files and on ledger rows.
const Name = "email"

// SenderKey is the campaign's sender key of email (sender.email), which
// DKIM signing compares with its keys' domains.
const SenderKey = "email"

// Content is an email step's content. HTML and Text are template paths
// relative to the campaign repository; Subject is an inline template.
type Content struct {
	Subject     string
	HTML        string
	Text        string
	Attachments []string
}

// Address is the email address of a contact: one validator
// (contact.NormalizeEmail), the lower-cased form for suppression keys.
var Address = &channel.Address{
	Class: contact.AddrEmail,
	Field: "email",
	Normalized: func(c *contact.Contact) string {
		norm, _ := contact.NormalizeEmail(c.Email)
		return norm
	},
	Check: func(c *contact.Contact) error {
		norm, ok := contact.NormalizeEmail(c.Email)
		switch {
		case norm == "":
			return channel.ErrNoAddress
		case !ok:
			return &channel.InvalidAddressError{}
		}
		return nil
	},
}

// New returns the email channel's descriptor.
func New() *channel.Descriptor {
	return &channel.Descriptor{
		Name:           Name,
		Address:        Address,
		ConsentKey:     "email",
		DefaultConsent: map[string]string{contact.KindPerson: "opt_in", contact.KindBusiness: "opt_out"},
		SenderKey:      SenderKey,
		SenderRequired: "sender.email is required when a step sends email",
		Tracked:        true,
		Block: channel.Block{
			Keys:    []string{"subject", "html", "text", "attachments"},
			Decode:  decode,
			Compose: compose,
			Schema:  schema,
		},
	}
}

func decode(d channel.BlockDecoder, n *yaml.Node) any {
	e := &Content{}
	d.Mapping(n, "email", []string{"subject", "html", "text", "attachments"}, func(key string, v *yaml.Node) {
		switch key {
		case "subject":
			e.Subject = d.Subject(v, "email.subject")
		case "html":
			e.HTML = d.File(v, "email.html", channel.UseHTML)
		case "text":
			e.Text = d.File(v, "email.text", channel.UseText)
		case "attachments":
			e.Attachments = d.Files(v, "email.attachments")
		}
	})
	if e.HTML == "" && e.Text == "" {
		d.Errorf(n, "email needs html or text")
	}
	if e.Subject == "" {
		d.Errorf(n, "email needs a subject")
	}
	return e
}

func compose(in *channel.ComposeInput, m *channel.Message) error {
	e, ok := in.Content.(*Content)
	if !ok || e == nil {
		return fmt.Errorf("step %s has no email content", in.Step)
	}
	m.From, m.To = in.Sender, in.Contact.Email
	m.ToName = strings.TrimSpace(in.Contact.FirstName + " " + in.Contact.LastName)
	var err error
	if m.Subject, err = in.Templates.Execute(in.Templates.SubjectKey(in.Step, Name), in.Data); err != nil {
		return err
	}
	if e.HTML != "" {
		if m.HTML, err = in.Templates.Execute(e.HTML, in.Data); err != nil {
			return err
		}
	}
	if e.Text != "" {
		if m.Text, err = in.Templates.Execute(e.Text, in.Data); err != nil {
			return err
		}
	} else if m.HTML != "" {
		m.Text = render.HTMLToText(m.HTML)
	}
	for _, a := range e.Attachments {
		m.Attachments = append(m.Attachments, channel.FileAttachment(a, in.Templates.File(a)))
	}
	return nil
}

// schema is the JSON Schema of the email: block of a step.
const schema = `{
	"type": "object",
	"additionalProperties": false,
	"required": [
		"subject"
	],
	"properties": {
		"subject": {
			"type": "string",
			"description": "Inline text template."
		},
		"html": {
			"$ref": "#/$defs/path"
		},
		"text": {
			"$ref": "#/$defs/path"
		},
		"attachments": {
			"$ref": "#/$defs/paths"
		}
	}
}`
