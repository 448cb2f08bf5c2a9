// Package compose turns a campaign step and a contact into the message a
// channel sends. It sits before the send path so that planning (dry runs,
// the send-time address check), the tracking pages (view in browser) and
// the worker all build the same message without importing one another.
package compose

import (
	"fmt"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
)

// Composer turns a campaign step and a contact into the channel.Message
// they make, with the templates compiled when the campaign was loaded.
type Composer struct {
	// MediaURL turns an MMS media reference of sp (a campaign file path,
	// or a URL) into the URL the provider fetches; nil passes them as they
	// are.
	MediaURL func(sp *campaign.Spec, ref string) (string, error)
}

// NewComposer returns a Composer.
func NewComposer() *Composer { return &Composer{} }

// Links are the per-recipient URLs a message carries (tracking adds them).
type Links struct {
	Unsubscribe string
	View        string
	ResponseURL string
	// Headers are channel headers such as List-Unsubscribe.
	Headers map[string]string
}

// Input is what Compose needs for one message.
type Input struct {
	Spec     *campaign.Spec
	Step     *campaign.Step
	Channel  string
	LedgerID string
	Contact  *contact.Contact
	Data     map[string]any // transactional payload
	Links    Links
	Response string // response code (print coupon, PURL)
	Now      time.Time
}

// Compose renders the message. Errors name the template, never contact data.
func (c *Composer) Compose(in Input) (*channel.Message, error) {
	sp, st := in.Spec, in.Step
	d := &render.Data{
		Contact:  render.NewContactData(in.Contact),
		Data:     in.Data,
		Links:    render.Links{Unsubscribe: in.Links.Unsubscribe, View: in.Links.View},
		Response: render.Response{Code: in.Response, URL: in.Links.ResponseURL},
		Campaign: render.CampaignData{ID: sp.ID, Name: sp.Name},
		Step:     render.StepData{ID: st.ID},
		Now:      in.Now,
		Locale:   in.Contact.Locale,
	}
	if d.Data == nil {
		d.Data = map[string]any{}
	}
	m := &channel.Message{
		LedgerID: in.LedgerID, Campaign: sp.ID, Step: st.ID, Channel: in.Channel,
		Purpose: sp.Purpose, Contact: in.Contact, Headers: in.Links.Headers,
		ResponseCode: in.Response, ResponseURL: in.Links.ResponseURL,
	}
	var err error
	switch in.Channel {
	case channel.Email:
		e := st.Email
		if e == nil {
			return nil, fmt.Errorf("step %s has no email content", st.ID)
		}
		m.From, m.To = sp.Sender.Email, in.Contact.Email
		m.ToName = strings.TrimSpace(in.Contact.FirstName + " " + in.Contact.LastName)
		if m.Subject, err = exec(sp, campaign.SubjectKey(st.ID, channel.Email), d); err != nil {
			return nil, err
		}
		if e.HTML != "" {
			if m.HTML, err = exec(sp, e.HTML, d); err != nil {
				return nil, err
			}
		}
		if e.Text != "" {
			if m.Text, err = exec(sp, e.Text, d); err != nil {
				return nil, err
			}
		} else if m.HTML != "" {
			m.Text = render.HTMLToText(m.HTML)
		}
		for _, a := range e.Attachments {
			m.Attachments = append(m.Attachments, attachment(sp, a))
		}
	case channel.SMS, channel.MMS:
		s := st.SMS
		if in.Channel == channel.MMS {
			s = st.MMS
		}
		if s == nil {
			return nil, fmt.Errorf("step %s has no %s content", st.ID, in.Channel)
		}
		m.From, m.To = sp.Sender.SMS, in.Contact.Phone
		if m.Text, err = exec(sp, s.Text, d); err != nil {
			return nil, err
		}
		m.Text = strings.TrimSpace(m.Text)
		for _, ref := range s.Media {
			u := ref
			if c.MediaURL != nil {
				if u, err = c.MediaURL(sp, ref); err != nil {
					return nil, err
				}
			}
			m.MediaURLs = append(m.MediaURLs, u)
		}
	case channel.Print:
		p := st.Print
		if p == nil {
			return nil, fmt.Errorf("step %s has no print content", st.ID)
		}
		if sp.Sender.Postal != nil {
			m.SenderPostal = append([]string{sp.Sender.Postal.Name}, sp.Sender.Postal.Lines...)
		}
		if p.Subject != "" {
			if m.Subject, err = exec(sp, campaign.SubjectKey(st.ID, channel.Print), d); err != nil {
				return nil, err
			}
		}
		if m.Text, err = exec(sp, p.Letter, d); err != nil {
			return nil, err
		}
		for _, a := range p.Inserts {
			m.Inserts = append(m.Inserts, attachment(sp, a))
		}
		if !p.ReplyCoupon {
			m.ResponseCode, m.ResponseURL = "", ""
		}
	default:
		return nil, fmt.Errorf("unknown channel %q", in.Channel)
	}
	return m, nil
}

// exec runs the compiled template key of sp (a template path or a
// campaign.SubjectKey).
func exec(sp *campaign.Spec, key string, d *render.Data) (string, error) {
	t := sp.Template(key)
	if t == nil {
		return "", fmt.Errorf("template %s is not loaded with campaign %s", key, sp.ID)
	}
	return t.Execute(d)
}

func attachment(sp *campaign.Spec, p string) channel.Attachment {
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return channel.Attachment{Name: path.Base(p), ContentType: ct, Data: sp.Files[p]}
}
