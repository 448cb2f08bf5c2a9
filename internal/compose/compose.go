// Package compose turns a campaign step and a contact into the message a
// channel sends. It sits before the send path so that planning (dry runs,
// the send-time address check), the tracking pages (view in browser) and
// the worker all build the same message without importing one another.
package compose

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
)

// Composer turns a campaign step and a contact into the channel.Message
// they make, with the templates compiled when the campaign was loaded.
type Composer struct {
	// Channels composes each channel's part of a message (nil: the
	// built-in channels).
	Channels *channel.Registry
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
	desc, ok := c.channels().Lookup(in.Channel)
	if !ok {
		return nil, fmt.Errorf("unknown channel %q", in.Channel)
	}
	var sender string
	if desc.SenderKey != "" {
		sender = sp.Sender.For(desc.SenderKey)
	}
	rec := &recorder{sp: sp, hosts: append([]string{}, sp.LinkHosts...)}
	ci := &channel.ComposeInput{
		Content: st.Content[in.Channel], Step: st.ID, Channel: in.Channel,
		Sender: sender, Postal: sp.Sender.PostalLines(),
		Contact: in.Contact, Data: d, Templates: rec,
	}
	if c.MediaURL != nil {
		ci.MediaURL = func(ref string) (string, error) { return c.MediaURL(sp, ref) }
	}
	if err := desc.Block.Compose(ci, m); err != nil {
		return nil, err
	}
	slices.Sort(rec.hosts)
	m.LinkHosts = slices.Compact(rec.hosts)
	return m, nil
}

// recorder executes the campaign's templates for a channel composer and
// collects the link hosts of those it ran.
type recorder struct {
	sp    *campaign.Spec
	hosts []string
}

func (r *recorder) Execute(key string, d *render.Data) (string, error) {
	if t := r.sp.Template(key); t != nil {
		r.hosts = append(r.hosts, t.LinkHosts()...)
	}
	return r.sp.Execute(key, d)
}

func (r *recorder) File(path string) []byte { return r.sp.File(path) }

func (r *recorder) SubjectKey(step, ch string) string { return r.sp.SubjectKey(step, ch) }

// channels returns the registry messages are composed with.
func (c *Composer) channels() *channel.Registry {
	if c.Channels != nil {
		return c.Channels
	}
	return defaultChannels()
}

// defaultChannels is the built-in registry, built once for composers
// that were given none.
var defaultChannels = sync.OnceValue(builtin.Channels)
