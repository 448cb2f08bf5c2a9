package bounce

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Keywords the poller sets on the messages it has read; a message with
// either is not read again.
const (
	// FlagProcessed marks a report applied to the ledger (also \Seen).
	FlagProcessed imap.Flag = "$RelaisProcessed"
	// FlagUnmatched marks a message that is no report of a relais message
	// (unrelated mail, a report without a valid token): it is left for a
	// human, unread and never deleted.
	FlagUnmatched imap.Flag = "$RelaisUnmatched"
)

// maxPerPoll bounds the messages one poll fetches, and so its memory: a
// backlog is worked through over several polls.
const maxPerPoll = 500

// Mailbox is where bounces and feedback reports arrive: parsed from
// imaps://user:pass@host[:993]/INBOX[?processed=Folder], or imap:// (no
// TLS) on a loopback host only.
type Mailbox struct {
	Addr      string // host:port
	TLS       bool
	User      string
	Password  string
	Folder    string // default INBOX
	Processed string // folder processed reports are moved to ("": flagged only)
}

// ParseMailbox parses a bounce_mailbox URL. Errors never quote it (it
// holds a password).
func ParseMailbox(s string) (Mailbox, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Mailbox{}, errors.New("bounce_mailbox: not a URL")
	}
	mb := Mailbox{Folder: strings.TrimPrefix(u.Path, "/"), Processed: u.Query().Get("processed")}
	if mb.Folder == "" {
		mb.Folder = "INBOX"
	}
	if u.User != nil {
		mb.User = u.User.Username()
		mb.Password, _ = u.User.Password()
	}
	port := u.Port()
	switch u.Scheme {
	case "imaps":
		mb.TLS = true
		if port == "" {
			port = "993"
		}
	case "imap":
		if port == "" {
			port = "143"
		}
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return Mailbox{}, errors.New("bounce_mailbox: imap:// (without TLS) is for a loopback host only; use imaps://")
		}
	default:
		return Mailbox{}, errors.New("bounce_mailbox: scheme must be imaps:// (or imap:// on loopback)")
	}
	if u.Hostname() == "" || mb.User == "" {
		return Mailbox{}, errors.New("bounce_mailbox: host and user are required")
	}
	mb.Addr = net.JoinHostPort(u.Hostname(), port)
	return mb, nil
}

// PollResult counts what one poll found.
type PollResult struct {
	Read       int      `json:"read"`                     // messages read
	Hard       int      `json:"hard"`                     // hard bounces newly recorded
	Soft       int      `json:"soft"`                     // soft bounces newly recorded
	Complaints int      `json:"complaints"`               // complaints newly recorded
	Delayed    int      `json:"delayed"`                  // delay warnings (nothing recorded)
	Repeated   int      `json:"repeated"`                 // reports already recorded before
	Unmatched  int      `json:"unmatched"`                // left for a human
	UnmatchedU []uint32 `json:"unmatched_uids,omitempty"` // their IMAP UIDs
}

// Poller reads a mailbox and applies its reports.
type Poller struct {
	Mailbox    Mailbox
	Correlator *Correlator
	Recorder   *Recorder
	TLSConfig  *tls.Config // nil: system roots
	Log        *slog.Logger
}

// Poll reads the messages of the folder not yet marked by an earlier
// poll (at most 500; the next poll takes the rest), applies the bounces and complaints that name a relais message,
// marks them FlagProcessed and \Seen (and moves them when Processed is
// set), and marks the others FlagUnmatched. Nothing is deleted. A store
// error stops the poll before the message is marked, so the next poll
// retries it; applying twice is harmless.
func (p *Poller) Poll(ctx context.Context) (PollResult, error) {
	var res PollResult
	c, err := p.dial()
	if err != nil {
		return res, err
	}
	defer func() { _ = c.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if err := c.Login(p.Mailbox.User, p.Mailbox.Password).Wait(); err != nil {
		return res, fmt.Errorf("bounce mailbox: login: %w", err)
	}
	if _, err := c.Select(p.Mailbox.Folder, nil).Wait(); err != nil {
		return res, fmt.Errorf("bounce mailbox: select %s: %w", p.Mailbox.Folder, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{FlagProcessed, FlagUnmatched}}, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("bounce mailbox: search: %w", err)
	}
	uids := found.AllUIDs()
	if len(uids) == 0 {
		return res, nil
	}
	if len(uids) > maxPerPoll {
		uids = uids[:maxPerPoll] // the next poll takes the rest
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return res, fmt.Errorf("bounce mailbox: fetch: %w", err)
	}
	var done, unmatched []imap.UID
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Read++
		ok, err := p.handle(ctx, m.FindBodySection(section), &res)
		if err != nil {
			return res, err
		}
		if ok {
			done = append(done, m.UID)
		} else {
			unmatched = append(unmatched, m.UID)
			res.UnmatchedU = append(res.UnmatchedU, uint32(m.UID))
		}
	}
	if err := p.mark(c, done, []imap.Flag{FlagProcessed, imap.FlagSeen}); err != nil {
		return res, err
	}
	if err := p.mark(c, unmatched, []imap.Flag{FlagUnmatched}); err != nil {
		return res, err
	}
	if p.Mailbox.Processed != "" && len(done) > 0 {
		if _, err := c.Move(imap.UIDSetNum(done...), p.Mailbox.Processed).Wait(); err != nil {
			return res, fmt.Errorf("bounce mailbox: move to %s: %w", p.Mailbox.Processed, err)
		}
	}
	_ = c.Logout().Wait()
	p.log().Info("bounce mailbox polled", "read", res.Read, "hard", res.Hard, "soft", res.Soft,
		"complaints", res.Complaints, "delayed", res.Delayed, "repeated", res.Repeated, "unmatched", res.Unmatched)
	return res, nil
}

// handle applies one message; false: it is no report of a relais message.
func (p *Poller) handle(ctx context.Context, raw []byte, res *PollResult) (bool, error) {
	rep, err := Parse(raw)
	if err != nil {
		res.Unmatched++
		return false, nil
	}
	if rep.Delayed && rep.Kind == "" {
		if _, ok := p.Correlator.Find(rep.text); ok {
			res.Delayed++
			return true, nil
		}
	}
	id, ok := p.Correlator.Find(rep.text)
	if rep.Kind == "" || !ok {
		res.Unmatched++
		return false, nil
	}
	ref := rep.MessageID
	if ref == "" {
		ref = string(raw)
	}
	sum := sha256.Sum256([]byte(ref))
	applied, err := p.Recorder.Apply(ctx, Outcome{Kind: rep.Kind, LedgerID: id, Status: rep.Status, Source: "mailbox", Ref: hex.EncodeToString(sum[:8])})
	if errors.Is(err, ErrUnknownMessage) {
		res.Unmatched++
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case !applied:
		res.Repeated++
	case rep.Kind == HardBounce:
		res.Hard++
	case rep.Kind == SoftBounce:
		res.Soft++
	case rep.Kind == Complaint:
		res.Complaints++
	}
	return true, nil
}

func (p *Poller) mark(c *imapclient.Client, uids []imap.UID, flags []imap.Flag) error {
	if len(uids) == 0 {
		return nil
	}
	err := c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: flags, Silent: true}, nil).Close()
	if err != nil {
		return fmt.Errorf("bounce mailbox: flag: %w", err)
	}
	return nil
}

func (p *Poller) dial() (*imapclient.Client, error) {
	var (
		c   *imapclient.Client
		err error
	)
	if p.Mailbox.TLS {
		c, err = imapclient.DialTLS(p.Mailbox.Addr, &imapclient.Options{TLSConfig: p.TLSConfig})
	} else {
		c, err = imapclient.DialInsecure(p.Mailbox.Addr, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("bounce mailbox: dial: %w", err)
	}
	return c, nil
}

func (p *Poller) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}
