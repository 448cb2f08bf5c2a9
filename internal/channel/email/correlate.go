package email

import (
	"fmt"
	"net/textproto"
	"sort"
	"strings"

	mail "github.com/wneessen/go-mail"

	"github.com/relais-dev/relais/internal/channel"
)

// Correlator names the ledger row of every message in places that come
// back with a bounce, a complaint or a provider event: the envelope sender
// (the Return-Path a bounce is mailed to) and extra header fields. It
// must not put the recipient's address anywhere.
type Correlator interface {
	// ReturnPath is the envelope sender (SMTP MAIL FROM) of the message
	// with ledgerID sent from fromDomain; "" keeps the From address.
	ReturnPath(ledgerID, fromDomain string) string
	// Headers are header fields naming ledgerID (values without CR/LF).
	Headers(ledgerID string) map[string]string
}

// WithCorrelator gives every message with a ledger id the Return-Path and
// headers of c, so that late bounces and complaints find their ledger row.
func WithCorrelator(c Correlator) Option {
	return func(s *settings) error {
		if c == nil {
			return fmt.Errorf("%w: nil correlator", ErrConfig)
		}
		s.corr = c
		return nil
	}
}

// correlate adds c's headers and envelope sender to msg and returns the
// envelope sender ("" when none); from is m's From address, as parsed by
// build.
func correlate(c Correlator, msg *mail.Msg, m *channel.Message, from string) (string, error) {
	if c == nil || m.LedgerID == "" {
		return "", nil
	}
	hs := c.Headers(m.LedgerID)
	keys := make([]string, 0, len(hs))
	for k := range hs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := hs[k]
		if !validFieldName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return "", buildErr(ReasonInvalidHeader, fmt.Errorf("correlation header %s", k))
		}
		msg.SetGenHeader(mail.Header(textproto.CanonicalMIMEHeaderKey(k)), v)
	}
	_, domain, _ := strings.Cut(from, "@")
	rp := c.ReturnPath(m.LedgerID, strings.ToLower(domain))
	if rp == "" {
		return "", nil
	}
	if err := msg.EnvelopeFrom(rp); err != nil {
		return "", buildErr(ReasonInvalidAddress, fmt.Errorf("return-path: %w", err))
	}
	return rp, nil
}

// envelopeFrom returns msg's envelope sender address ("" when unset).
func envelopeFrom(msg *mail.Msg) string {
	if a := msg.GetAddrHeader(mail.HeaderEnvelopeFrom); len(a) > 0 {
		return a[0].Address
	}
	return ""
}
