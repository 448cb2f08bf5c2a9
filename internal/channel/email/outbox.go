package email

import (
	"context"
	"errors"
	"fmt"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/outbox"
)

// Outbox is the email transport of embedded mode and tests: instead of
// SMTP it writes each message, signed exactly as Sender would send it, to
// <dir>/<LedgerID>.eml. Safe for concurrent use.
type Outbox struct {
	dir  string
	comp composer
}

var _ channel.Sender = (*Outbox)(nil)

// NewOutbox returns an unsigned Outbox writing into dir (created on first
// write; "" means the current directory). Use NewOutboxWith to sign.
func NewOutbox(dir string) *Outbox {
	if dir == "" {
		dir = "."
	}
	return &Outbox{dir: dir}
}

// NewOutboxWith returns an Outbox writing into dir with options; only
// WithDKIM matters here, so that embedded mode shows signed messages.
// Errors wrap ErrConfig.
func NewOutboxWith(dir string, opts ...Option) (*Outbox, error) {
	st, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	o := NewOutbox(dir)
	o.comp = composer{dkim: st.dkim, corr: st.corr}
	return o, nil
}

// Name returns "email".
func (o *Outbox) Name() string { return emailch.Name }

// Send writes m as <dir>/<LedgerID>.eml atomically (a retry replaces the
// file) and returns its Message-ID as the ProviderID. Build errors are as
// for Sender; a missing LedgerID is permanent; a file-system error is
// temporary.
func (o *Outbox) Send(ctx context.Context, m *channel.Message) (channel.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return channel.Receipt{}, fmt.Errorf("email outbox: %w", err)
	}
	if m.LedgerID == "" {
		return channel.Receipt{}, fmt.Errorf("email outbox: message has no ledger id: %w", channel.ErrPermanent)
	}
	msg, id, err := o.comp.compose(m)
	if err != nil {
		return channel.Receipt{}, err
	}
	data, err := render(msg)
	if err != nil {
		return channel.Receipt{}, err
	}
	if rp := envelopeFrom(msg); rp != "" {
		// What the receiving server would add: the outbox file then shows
		// where a bounce of this message goes.
		data = append([]byte("Return-Path: <"+rp+">\r\n"), data...)
	}
	if _, err := outbox.Write(o.dir, m.LedgerID+".eml", data); err != nil {
		if errors.Is(err, outbox.ErrInvalidName) {
			return channel.Receipt{}, fmt.Errorf("email outbox: %w: %w", err, channel.ErrPermanent)
		}
		return channel.Receipt{}, fmt.Errorf("email outbox: %w", err)
	}
	return channel.Receipt{ProviderID: id}, nil
}

// Close does nothing: every Send is complete on disk when it returns.
func (o *Outbox) Close() error { return nil }
