// Package channel defines what a delivery channel is given and returns: the
// Message, the Receipt, and how a failure says whether a retry can help.
package channel

import (
	"context"
	"errors"
	"mime"
	"path"

	"github.com/relais-dev/relais/internal/contact"
)

// ErrPermanent is wrapped by a sender when a retry cannot help (hard
// bounce, invalid number, landline…). The worker maps it to
// asynq.SkipRetry and records the failure.
var ErrPermanent = errors.New("permanent failure")

// Attachment is a file sent with an email or appended to a letter.
type Attachment struct {
	Name        string // file name shown to the recipient
	ContentType string // MIME type; guessed from Name when empty
	Data        []byte
}

// Message is a fully rendered message for one recipient on one channel.
// It carries the recipient's address because the provider needs it; it is
// never logged or put on the queue.
type Message struct {
	LedgerID string // the send ledger row id, also used for idempotency keys
	// RunID groups the messages of one run; print spools letters per run
	// and assembles them into batches when the run's jobs are done.
	RunID    string
	Campaign string
	Step     string
	Channel  string
	Purpose  string // "marketing" or "transactional"

	From   string // email: RFC 5322 address; sms: number, sender id or MG… SID
	To     string // email address, E.164 number
	ToName string
	// Contact is the recipient (name, postal address, locale) for channels
	// that lay it out, such as print.
	Contact *contact.Contact

	Subject string
	HTML    string
	Text    string

	Attachments []Attachment
	// Headers are extra email headers (List-Unsubscribe…); values are
	// checked for CR/LF by the sender.
	Headers map[string]string
	// MediaURLs are MMS media.
	MediaURLs []string
	// StatusCallback is the URL a provider calls with delivery statuses.
	StatusCallback string

	// Print: the sender's postal block, the letter's subject line, the
	// reply coupon's response code and personal URL (empty: no coupon),
	// and the inserts appended after the letter.
	SenderPostal []string
	ResponseCode string
	ResponseURL  string
	Inserts      []Attachment

	// LinkHosts are the hosts click tracking may sign links to: those
	// written in the templates that rendered the message (never a URL
	// that came from contact or API data). Nil: no restriction (a message
	// not made by the composer).
	LinkHosts []string

	// Extra carries what a channel's composer hands its own senders
	// beyond the fields above, so a new channel needs no new field here.
	Extra map[string]any
}

// Receipt is what the provider said when it accepted a message.
type Receipt struct {
	ProviderID string // SMTP Message-ID, Twilio SID, batch file + sequence
	Segments   int    // SMS segments (drives cost), 0 elsewhere
}

// Sender delivers messages on one channel. Implementations are safe for
// concurrent use.
type Sender interface {
	// Name is the channel name the sender was built for.
	Name() string
	// Send delivers m. An error wrapping ErrPermanent means no retry can
	// help; any other error is temporary.
	Send(ctx context.Context, m *Message) (Receipt, error)
	// Close releases pooled connections and flushes buffers.
	Close() error
}

// IsPermanent reports whether err says a retry cannot help.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// Reasoner is implemented by channel errors that carry a stable reason
// code (hard_bounce, landline, invalid_address…) recorded on the ledger.
type Reasoner interface {
	ReasonCode() string
}

// ReasonOf returns the reason code of err (a Reasoner in its chain), or
// fallback.
func ReasonOf(err error, fallback string) string {
	var r Reasoner
	if errors.As(err, &r) && r.ReasonCode() != "" {
		return r.ReasonCode()
	}
	return fallback
}

// FileAttachment is a campaign file sent as an attachment or insert, its
// type guessed from its name.
func FileAttachment(p string, data []byte) Attachment {
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return Attachment{Name: path.Base(p), ContentType: ct, Data: data}
}
