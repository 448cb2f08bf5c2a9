// Package twilio is the Twilio provider of the sms and mms channels: it
// sends through Twilio's Messages API with twilio-go, classifies Twilio's
// errors into the sms package's reasons, and serves Twilio's signed status
// and inbound webhooks. The message checks, segment counting and outbox
// are provider-neutral and live in channel/sms.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/relais-dev/relais/internal/channel"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/sms"
)

// Config configures one Sender. The environment names in brackets are the
// environment variables relais' configuration maps onto these fields.
type Config struct {
	// Name is the channel the Sender serves: smsch.SMS (default) or
	// smsch.MMS. Only "mms" sends MediaURLs.
	Name string `yaml:"name"`
	// AccountSID and AuthToken are the Twilio credentials
	// [TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN]. Required.
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"auth_token"`
	// APIBaseURL replaces https://api.twilio.com, e.g. to point at a test
	// double [TWILIO_API_BASE_URL]. Default: Twilio's production API.
	APIBaseURL string `yaml:"api_base_url"`
	// From is the default sender when a Message has none: an E.164 number,
	// an alphanumeric sender id, or a Messaging Service SID ("MG" + 32 hex
	// digits), which is sent as MessagingServiceSid so Twilio picks the number.
	From string `yaml:"from"`
	// StatusCallback is the default URL Twilio posts delivery statuses to
	// when a Message has none. Empty: no status callbacks.
	StatusCallback string `yaml:"status_callback"`
	// AllowPrivateMedia lets MMS media be http or on private/loopback
	// addresses. For tests only: in production it would let campaign data
	// point Twilio (and the outbox) at internal hosts.
	AllowPrivateMedia bool `yaml:"allow_private_media"`
	// Timeout bounds one API call. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConns is the number of idle keep-alive connections kept to the API
	// (the throughput knob: one send is one HTTPS request). Default 64.
	MaxConns int `yaml:"max_conns"`
}

// DefaultAPIBaseURL is Twilio's production REST API.
const DefaultAPIBaseURL = "https://api.twilio.com"

// Option adjusts a Sender at construction; an option that returns an error
// makes New fail.
type Option func(*Sender) error

// WithTransport sends API requests through rt instead of the Sender's own
// pooled transport (for a proxy or instrumentation). rt must not be nil.
func WithTransport(rt http.RoundTripper) Option {
	return func(s *Sender) error {
		if rt == nil {
			return errors.New("sms: nil transport")
		}
		s.next = rt
		return nil
	}
}

// WithLookup replaces the DNS lookup used to check that MMS media hosts are
// public (default net.DefaultResolver).
func WithLookup(lookup func(ctx context.Context, host string) ([]netip.Addr, error)) Option {
	return func(s *Sender) error {
		if lookup == nil {
			return errors.New("sms: nil lookup")
		}
		s.lookup = lookup
		return nil
	}
}

// Sender delivers SMS or MMS through Twilio. It keeps one pooled HTTP
// transport for its lifetime; safe for concurrent use.
type Sender struct {
	cfg    Config
	base   twclient.Client // template copied per send to bind the send's context
	next   http.RoundTripper
	owned  *http.Transport // closed by Close when the Sender created it
	lookup func(context.Context, string) ([]netip.Addr, error)
}

var _ channel.Sender = (*Sender)(nil)

var serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)

// New returns a Sender for cfg. It does no I/O. It fails when credentials
// are missing, Name is not sms or mms, APIBaseURL is not an absolute URL, or
// an option fails.
func New(cfg Config, opts ...Option) (*Sender, error) {
	if cfg.Name == "" {
		cfg.Name = smsch.SMS
	}
	if cfg.Name != smsch.SMS && cfg.Name != smsch.MMS {
		return nil, fmt.Errorf("sms: channel name %q: want %q or %q", cfg.Name, smsch.SMS, smsch.MMS)
	}
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("sms: account SID and auth token are required")
	}
	if cfg.APIBaseURL == "" {
		cfg.APIBaseURL = DefaultAPIBaseURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 64
	}
	base, err := url.Parse(strings.TrimRight(cfg.APIBaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("sms: API base URL must be an absolute http(s) URL")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = cfg.MaxConns * 2
	t.MaxIdleConnsPerHost = cfg.MaxConns
	t.IdleConnTimeout = 90 * time.Second
	s := &Sender{cfg: cfg, next: t, owned: t, lookup: sms.DefaultLookup}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if base.String() != DefaultAPIBaseURL {
		s.next = &rewrite{base: base, next: s.next}
	}
	s.base = twclient.Client{Credentials: twclient.NewCredentials(cfg.AccountSID, cfg.AuthToken)}
	s.base.SetAccountSid(cfg.AccountSID)
	return s, nil
}

// Name is the channel served: "sms" or "mms".
func (s *Sender) Name() string { return s.cfg.Name }

// Close releases pooled connections.
func (s *Sender) Close() error {
	if s.owned != nil {
		s.owned.CloseIdleConnections()
	}
	return nil
}

// Send creates one Twilio message for m. Recipient: m.To in E.164. Sender:
// m.From, else Config.From; a Messaging Service SID goes as
// MessagingServiceSid. Body: m.Text. MMS media: m.MediaURLs (public https
// only). Status callback: m.StatusCallback, else Config.StatusCallback.
// Errors are *sms.Error: permanent ones wrap channel.ErrPermanent (see
// sms.Reason).
// A context error while the request is in flight is temporary, but the
// message may have been created: the ledger treats it as ambiguous.
func (s *Sender) Send(ctx context.Context, m *channel.Message) (channel.Receipt, error) {
	p, segments, err := s.params(ctx, m)
	if err != nil {
		return channel.Receipt{}, err
	}
	// The timeout is applied through the context, not http.Client.Timeout,
	// because bound replaces the request's context.
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c := s.base
	wrote := &atomic.Bool{}
	c.HTTPClient = &http.Client{
		Transport:     bound{ctx: ctx, next: s.next, wrote: wrote},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	msg, err := twapi.NewApiServiceWithClient(&c).CreateMessage(p)
	if err != nil {
		if !answered(err) && wrote.Load() {
			// The create request went out whole and no answer came
			// back: Twilio may have created the message.
			return channel.Receipt{}, ambiguous(classify(err))
		}
		return channel.Receipt{}, classify(err)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return channel.Receipt{}, sms.Fail(sms.ReasonProvider, false, errors.New("twilio answered without a message SID"))
	}
	return channel.Receipt{ProviderID: *msg.Sid, Segments: segments}, nil
}

// Probe fetches the Twilio account the credentials name, sending
// nothing: nil when Twilio accepts them now, an account error
// (channel.ErrAccount) while it refuses them, any other error when it
// cannot be reached. It implements channel.Prober.
func (s *Sender) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c := s.base
	c.HTTPClient = &http.Client{
		Transport:     bound{ctx: ctx, next: s.next},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if _, err := twapi.NewApiServiceWithClient(&c).FetchAccount(s.cfg.AccountSID); err != nil {
		return classify(err)
	}
	return nil
}

// params validates m and builds the create request.
func (s *Sender) params(ctx context.Context, m *channel.Message) (*twapi.CreateMessageParams, int, error) {
	d, err := s.draft(ctx, m)
	if err != nil {
		return nil, 0, err
	}
	p := &twapi.CreateMessageParams{}
	p.SetTo(d.To)
	if serviceSID.MatchString(d.From) {
		p.SetMessagingServiceSid(d.From)
	} else {
		p.SetFrom(d.From)
	}
	if d.Body != "" {
		p.SetBody(d.Body)
	}
	if len(d.Media) > 0 {
		p.SetMediaUrl(d.Media)
	}
	if d.StatusCallback != "" {
		p.SetStatusCallback(d.StatusCallback)
	}
	return p, d.Segments, nil
}

func (s *Sender) draft(ctx context.Context, m *channel.Message) (sms.Draft, error) {
	d, err := sms.NewDraft(s.cfg.Name, s.cfg.From, s.cfg.StatusCallback, m)
	if err != nil {
		return d, err
	}
	for _, u := range d.Media {
		if err := sms.CheckMedia(ctx, s.lookup, u, s.cfg.AllowPrivateMedia); err != nil {
			return d, err
		}
	}
	return d, nil
}

// rewrite sends requests twilio-go addresses to *.twilio.com to the
// configured base URL instead; twilio-go has no base URL setting, but it
// does take an HTTP client.
type rewrite struct {
	base *url.URL
	next http.RoundTripper
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := req.URL.Hostname(); h != "twilio.com" && !strings.HasSuffix(h, ".twilio.com") {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = r.base.Scheme
	out.URL.Host = r.base.Host
	out.URL.Path = r.base.Path + req.URL.Path
	out.URL.RawPath = ""
	out.Host = ""
	return r.next.RoundTrip(out)
}

// bound gives each request the send's context: twilio-go builds its
// requests with context.Background, so without this a cancelled send would
// wait for the full timeout.
// It also notes when a request was written out whole (wrote), which tells
// a lost answer (ambiguous) from a request that never left.
type bound struct {
	ctx   context.Context
	next  http.RoundTripper
	wrote *atomic.Bool
}

func (b bound) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := b.ctx
	if b.wrote != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(i httptrace.WroteRequestInfo) {
				if i.Err == nil {
					b.wrote.Store(true)
				}
			},
		})
	}
	return b.next.RoundTrip(req.WithContext(ctx))
}
