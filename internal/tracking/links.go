package tracking

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Links makes the tracking URLs and headers of each message: it is the
// worker's LinkMaker (before Compose) and decorates the rendered message
// (Decorate, after Compose). It needs no database: every URL carries a
// signed token or an HMAC-derived code.
type Links struct {
	signer *Signer
	base   string // public URL, no trailing slash
	// Mailto, when set, adds a mailto: alternative to List-Unsubscribe
	// (RFC 2369) whose subject carries the unsubscribe token, for mail
	// clients that do not implement RFC 8058. Default "": none.
	Mailto string
	// AllowedHosts are link hosts signed in every message beyond those
	// written in its templates (the link_hosts setting), for links whose
	// URL comes from API data, such as an order page.
	AllowedHosts []string
	// Channels say which channels are tracked (email) and which carry a
	// response code (print); nil: the built-in channels.
	Channels *channel.Registry
}

// descriptor returns ch's descriptor, or an empty one for an unknown ch.
func (l *Links) descriptor(ch string) *channel.Descriptor {
	r := l.Channels
	if r == nil {
		r = builtinChannels()
	}
	if d, ok := r.Lookup(ch); ok {
		return d
	}
	return &channel.Descriptor{Name: ch}
}

// builtinChannels is the registry of Links given none.
var builtinChannels = sync.OnceValue(builtin.Channels)

var _ compose.LinkMaker = (*Links)(nil)

// NewLinks returns a Links signing with s and building URLs under
// publicURL (RELAIS_PUBLIC_URL). It fails when publicURL is not an
// absolute http(s) URL or s is nil.
func NewLinks(s *Signer, publicURL string) (*Links, error) {
	if s == nil {
		return nil, fmt.Errorf("tracking: nil signer")
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracking: public URL must be an absolute http(s) URL")
	}
	return &Links{signer: s, base: strings.TrimRight(publicURL, "/")}, nil
}

// Signer returns the signer the links are made with.
func (l *Links) Signer() *Signer { return l.signer }

// claims returns the identifiers of row every token carries.
func claims(p Purpose, row *store.LedgerRow) Claims {
	return Claims{Purpose: p, LedgerID: row.ID, RunID: row.RunID, ContactID: row.ContactID,
		Campaign: row.CampaignID, Step: row.StepID, Channel: row.Channel}
}

func (l *Links) url(prefix string, c Claims) string {
	var b [320]byte
	u := append(append(b[:0], l.base...), prefix...)
	return string(l.signer.appendToken(u, c))
}

// Links implements compose.LinkMaker: the unsubscribe URL (/u/<token>), the
// view-in-browser URL (/v/<token>), for print the personal URL
// (/r/<code>) and the response code, and for marketing email the RFC 8058
// List-Unsubscribe and List-Unsubscribe-Post headers. The contact is not
// read: no PII goes into a link. It returns no error today; the signature
// leaves room for signers backed by a key service.
func (l *Links) Links(row *store.LedgerRow, _ *contact.Contact, _ *campaign.Spec) (compose.Links, string, error) {
	unsub := l.url("/u/", claims(PurposeUnsubscribe, row))
	out := compose.Links{Unsubscribe: unsub, View: l.url("/v/", claims(PurposeView, row))}
	var code string
	d := l.descriptor(row.Channel)
	if d.ResponseCode {
		code = l.signer.ResponseCode(row.ID)
		out.ResponseURL = l.base + "/r/" + code
	}
	if d.Tracked && row.Purpose != campaign.Transactional {
		lu := "<" + unsub + ">"
		if l.Mailto != "" {
			tok := unsub[strings.LastIndexByte(unsub, '/')+1:]
			lu += ", <mailto:" + l.Mailto + "?subject=unsubscribe%20" + tok + ">"
		}
		out.Headers = map[string]string{
			"List-Unsubscribe":      lu,
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}
	}
	return out, code, nil
}

// ResponseCode returns the response code of a ledger row (see
// Signer.ResponseCode).
func (l *Links) ResponseCode(ledgerID string) string { return l.signer.ResponseCode(ledgerID) }

// Decorate adds click and open tracking to a composed message: every
// http(s) link of m.HTML (and, for email, every URL of the plain-text
// part) whose host is written in the message's templates (m.LinkHosts) or
// allowed by configuration (AllowedHosts) becomes a /c/<token> redirect
// signed with its destination; any other URL came from data (a contact
// field, an API payload) and is neither signed nor left clickable in HTML,
// so the sender's domain never redirects to a place its author did not
// write; and
// when trackOpens is set (policy.Engine.TrackOpens) a 1×1 pixel loading
// /o/<token> is inserted before </body>. Links to this service itself
// (unsubscribe, view, personal URL) are left as they are. SMS and letters
// are not rewritten: a signed click URL would cost segments and be
// untypeable on paper.
func (l *Links) Decorate(m *channel.Message, row *store.LedgerRow, trackOpens bool) {
	if row == nil || !l.descriptor(m.Channel).Tracked {
		return
	}
	seen := make(map[string]string, 8)
	mk := func(u string) string {
		if len(u) > len(l.base) && u[len(l.base)] == '/' && strings.HasPrefix(u, l.base) {
			return "" // this service's own link
		}
		if c, ok := seen[u]; ok {
			return c
		}
		cu := dropLink
		if l.allowed(m, u) {
			c := claims(PurposeClick, row)
			c.URL = u
			cu = l.url("/c/", c)
		}
		seen[u] = cu
		return cu
	}
	if m.HTML != "" {
		var r rewriter
		r.scan(m.HTML, mk, seen)
		img := ""
		if trackOpens {
			img = pixelTag(l.url("/o/", claims(PurposeOpen, row)))
		}
		m.HTML = r.output(m.HTML, img)
	}
	if m.Text != "" {
		m.Text = rewriteText(m.Text, mk, nil)
	}
}

// allowed reports whether u's host is one the message's templates or the
// configuration name (case-insensitively). A message without LinkHosts was
// not made by the composer and keeps every link.
func (l *Links) allowed(m *channel.Message, u string) bool {
	if m.LinkHosts == nil {
		return true
	}
	p, err := url.Parse(u)
	if err != nil || p.User != nil {
		return false
	}
	h := strings.ToLower(p.Hostname())
	return h != "" && (slices.Contains(m.LinkHosts, h) || slices.ContainsFunc(l.AllowedHosts, func(a string) bool { return strings.EqualFold(a, h) }))
}
