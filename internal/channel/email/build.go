package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"net/textproto"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/google/uuid"
	mail "github.com/wneessen/go-mail"

	"github.com/relais-dev/relais/internal/channel"
)

// reservedHeaders are set by Build itself; letting Message.Headers set them
// would allow a template or an API caller to add recipients (Bcc) or break
// the MIME structure.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "sender": true,
	"subject": true, "date": true, "message-id": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true,
	"content-disposition": true, "dkim-signature": true, "return-path": true,
}

// messageNS is the UUID namespace of Message-IDs derived from ledger ids.
var messageNS = uuid.MustParse("7d0b3f0e-5c1a-4e0b-9a43-2f1e7c9d6a10")

// messageUUID is the left part of a message's Message-ID: derived from
// the ledger id, so that a resend of an ambiguous send carries the same
// Message-ID and receiving systems can drop the duplicate; random for a
// message without a ledger row.
func messageUUID(ledgerID string) string {
	if ledgerID == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(messageNS, []byte(ledgerID)).String()
}

// Build validates m and builds its MIME message with go-mail: From, To (with
// ToName), a UTF-8 Subject, Date, Message-ID <uuid@domain-of-From> (the uuid derived from m.LedgerID), a
// multipart/alternative text + HTML body (text only when HTML is empty),
// attachments (type guessed from the name when empty) and m.Headers. It
// returns the message and its Message-ID without angle brackets.
//
// Any CR or LF in the subject, a name, an address, an attachment name or a
// header is refused, not stripped, because it is a header-injection attempt
// or a broken template: the error wraps channel.ErrPermanent with reason
// "invalid_header". A From or To that is not an address gives reason
// "invalid_address". Errors never quote the offending value.
func Build(m *channel.Message) (*mail.Msg, string, error) {
	msg, id, _, err := build(m, time.Now())
	return msg, id, err
}

// build is Build at now; it also returns the From address (without the
// name), which the composer needs and would otherwise parse again.
func build(m *channel.Message, now time.Time) (*mail.Msg, string, string, error) {
	if err := checkHeaders(m); err != nil {
		return nil, "", "", err
	}
	from, err := parseFrom(m.From)
	if err != nil {
		return nil, "", "", buildErr(ReasonInvalidAddress, fmt.Errorf("from: %w", err))
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil || to.Name != "" {
		return nil, "", "", buildErr(ReasonInvalidAddress, errors.New("to: not a bare address"))
	}
	to.Name = m.ToName
	_, domain, _ := strings.Cut(from.Address, "@")
	domain = strings.ToLower(domain)
	if domain == "" {
		return nil, "", "", buildErr(ReasonInvalidAddress, errors.New("from: no domain"))
	}
	id := messageUUID(m.LedgerID) + "@" + domain

	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(id)

	switch {
	case m.HTML == "":
		msg.SetBodyWriter(mail.TypeTextPlain, writeString(m.Text))
	case m.Text == "":
		msg.SetBodyWriter(mail.TypeTextHTML, writeString(m.HTML))
	default:
		msg.SetBodyWriter(mail.TypeTextPlain, writeString(m.Text))
		msg.AddAlternativeWriter(mail.TypeTextHTML, writeString(m.HTML))
	}
	for _, a := range m.Attachments {
		var opts []mail.FileOption
		if a.ContentType != "" {
			opts = append(opts, mail.WithFileContentType(mail.ContentType(a.ContentType)))
		}
		// A ReadSeeker over the caller's bytes: no copy, and go-mail seeks
		// back after each write so the message can be rendered again (once
		// to sign, once to send).
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data), opts...)
	}
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg.SetGenHeader(mail.Header(textproto.CanonicalMIMEHeaderKey(k)), m.Headers[k])
	}
	return msg, id, from.Address, nil
}

// lastFrom is the From field parsed last: the messages of a campaign
// share their From, so each is parsed once rather than for every message.
var lastFrom atomic.Pointer[parsedFrom]

type parsedFrom struct {
	field string
	addr  netmail.Address
}

// parseFrom is netmail.ParseAddress(field), remembered for the next
// message with the same field. The result is the caller's own copy.
func parseFrom(field string) (*netmail.Address, error) {
	if p := lastFrom.Load(); p != nil && p.field == field {
		a := p.addr
		return &a, nil
	}
	a, err := netmail.ParseAddress(field)
	if err != nil {
		return nil, err
	}
	lastFrom.Store(&parsedFrom{field: field, addr: *a})
	return a, nil
}

// writeString is a go-mail body writer of s: it writes s in one Write, as
// go-mail's own string bodies do, but without copying s into a buffer
// first (a body is rendered once or twice, and never changed).
func writeString(s string) func(io.Writer) (int64, error) {
	return func(w io.Writer) (int64, error) {
		// An io.Writer must not modify the slice it is given, so the
		// string's bytes can be lent to it.
		n, err := w.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
		return int64(n), err
	}
}

// checkHeaders refuses CR/LF in anything that ends up in a header, and
// header names that are not RFC 5322 field names or that Build owns.
func checkHeaders(m *channel.Message) error {
	fields := []struct{ name, value string }{
		{"subject", m.Subject}, {"from", m.From}, {"to", m.To}, {"to name", m.ToName},
	}
	for _, a := range m.Attachments {
		fields = append(fields, struct{ name, value string }{"attachment name", a.Name},
			struct{ name, value string }{"attachment type", a.ContentType})
	}
	for _, f := range fields {
		if strings.ContainsAny(f.value, "\r\n\x00") {
			return buildErr(ReasonInvalidHeader, fmt.Errorf("line break in %s", f.name))
		}
	}
	for k, v := range m.Headers {
		if !validFieldName(k) {
			return buildErr(ReasonInvalidHeader, errors.New("bad header name"))
		}
		if reservedHeaders[strings.ToLower(k)] {
			return buildErr(ReasonInvalidHeader, fmt.Errorf("header %s is set by the sender", k))
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return buildErr(ReasonInvalidHeader, fmt.Errorf("line break in header %s", k))
		}
	}
	return nil
}

// validFieldName reports whether k is an RFC 5322 field name: printable
// US-ASCII except colon.
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}
