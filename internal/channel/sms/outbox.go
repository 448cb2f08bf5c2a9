package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/relais-dev/relais/internal/channel"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
)

// Outbox is a Sender that writes each message to a JSON file instead of
// calling a provider: the transport of embedded mode and of tests that look at
// what would have been sent. Safe for concurrent use.
type Outbox struct {
	dir  string
	name string
}

var _ channel.Sender = (*Outbox)(nil)

// safeID is what a ledger id must look like to become a file name.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// NewOutbox returns an Outbox writing into dir (created if missing) for
// channel name ("sms" or "mms"). It fails when name is neither or dir cannot
// be created.
func NewOutbox(dir, name string) (*Outbox, error) {
	if name != smsch.SMS && name != smsch.MMS {
		return nil, fmt.Errorf("sms outbox: channel name %q: want %q or %q", name, smsch.SMS, smsch.MMS)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sms outbox: %w", err)
	}
	return &Outbox{dir: dir, name: name}, nil
}

// Name is the channel served.
func (o *Outbox) Name() string { return o.name }

// Close does nothing: every Send has finished writing when it returns.
func (o *Outbox) Close() error { return nil }

// Send writes <LedgerID>.json with to, from, body, media, status_callback,
// segments and encoding, atomically (temporary file, then rename), so a
// reader never sees half a message and a resend replaces the file. The
// message is checked as a provider's Send checks it, except that media URLs are
// only checked to be absolute http(s) URLs (nothing fetches them). The receipt's ProviderID is "outbox:" + LedgerID.
func (o *Outbox) Send(ctx context.Context, m *channel.Message) (channel.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return channel.Receipt{}, err
	}
	if !safeID.MatchString(m.LedgerID) || m.LedgerID == "." || m.LedgerID == ".." {
		return channel.Receipt{}, Permanent(ReasonInvalidMessage, "ledger id cannot name an outbox file")
	}
	d, err := NewDraft(o.name, "", "", m)
	if err != nil {
		return channel.Receipt{}, err
	}
	for _, u := range d.Media {
		if err := CheckMedia(ctx, nil, u, true); err != nil {
			return channel.Receipt{}, err
		}
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return channel.Receipt{}, fmt.Errorf("sms outbox: encode: %w", err)
	}
	if err := writeAtomic(o.dir, m.LedgerID+".json", data); err != nil {
		return channel.Receipt{}, fmt.Errorf("sms outbox: ledger %s: %w", m.LedgerID, err)
	}
	return channel.Receipt{ProviderID: "outbox:" + m.LedgerID, Segments: d.Segments}, nil
}

func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}
