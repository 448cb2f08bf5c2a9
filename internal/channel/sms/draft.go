package sms

import (
	"github.com/relais-dev/relais/internal/channel"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/segments"
)

// Draft is a validated message, as a provider sends it or the outbox
// writes it (the JSON names are the outbox file's).
type Draft struct {
	To             string   `json:"to"`
	From           string   `json:"from"`
	Body           string   `json:"body,omitempty"`
	Media          []string `json:"media,omitempty"`
	StatusCallback string   `json:"status_callback,omitempty"`
	Segments       int      `json:"segments"`
	Encoding       string   `json:"encoding"`
}

// NewDraft applies the checks that need no I/O: E.164 recipient, a sender,
// something to send, media only on MMS. MMS counts as one billed message.
// name is the channel (sms or mms); defFrom and defCallback fill a
// message without sender or status callback.
func NewDraft(name, defFrom, defCallback string, m *channel.Message) (Draft, error) {
	d := Draft{To: m.To, From: m.From, Body: m.Text, Media: m.MediaURLs, StatusCallback: m.StatusCallback}
	if d.From == "" {
		d.From = defFrom
	}
	if d.StatusCallback == "" {
		d.StatusCallback = defCallback
	}
	switch {
	case !IsE164(d.To):
		return d, Permanent(ReasonInvalidAddress, "recipient is not an E.164 number")
	case d.From == "":
		return d, Permanent(ReasonInvalidSender, "no sender configured")
	case name != smsch.MMS && len(d.Media) > 0:
		return d, Permanent(ReasonInvalidMessage, "media on the sms channel; use mms")
	case d.Body == "" && len(d.Media) == 0:
		return d, Permanent(ReasonInvalidMessage, "empty message")
	}
	d.Encoding, d.Segments = segments.Count(d.Body)
	if name == smsch.MMS {
		d.Segments = 1
	}
	return d, nil
}
