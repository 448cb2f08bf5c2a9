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
	// that came from contact or API data) and those the campaign lists in
	// link_hosts. Nil: no restriction (a message not made by the
	// composer).
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

// ErrAmbiguous is wrapped by a sender when the message was handed over
// completely but the provider's answer was lost (the connection dropped or
// timed out after the end of an SMTP DATA, an HTTP request written without
// a response). The provider may or may not have taken it: resending could
// deliver it twice, so the worker holds the row for review instead (or
// resends it once with the same identity under on_ambiguous: resend).
var ErrAmbiguous = errors.New("outcome unknown: the provider may have taken the message")

// IsAmbiguous reports whether err says the message may have been taken.
func IsAmbiguous(err error) bool { return errors.Is(err, ErrAmbiguous) }

// Handover hands a prepared message to the provider. It must be called at
// most once.
type Handover func(ctx context.Context) (Receipt, error)

// Preparer is implemented by senders that wait for something before they
// can hand a message over (a pooled connection, a per-domain rate slot).
// The worker prepares first and marks the row submitting only once the
// sender is ready, so that a process killed while waiting leaves rows that
// were certainly not sent, rather than rows held as ambiguous.
type Preparer interface {
	// Prepare builds m and waits until it can be handed over. On success
	// the caller must call exactly one of send and abandon; abandon gives
	// back what Prepare took without sending.
	Prepare(ctx context.Context, m *Message) (send Handover, abandon func(), err error)
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
