package email

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	mail "github.com/wneessen/go-mail"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
)

// Option configures a Sender or an Outbox. Options validate their
// arguments and make New return an error wrapping ErrConfig.
type Option func(*settings) error

type settings struct {
	dkim    dkimKeys
	corr    Correlator
	logger  *slog.Logger
	rate    *float64
	tlsConf *tls.Config
}

// WithDKIM signs every message whose From address is in domain (or in one
// of its subdomains without a key of its own) with selector and key (RSA of
// at least MinRSABits bits, or Ed25519), d=domain, relaxed/relaxed over
// SignedHeaders. It may be given once per domain; a message whose From
// domain has no key is sent unsigned.
func WithDKIM(domain, selector string, key crypto.Signer) Option {
	return func(s *settings) error {
		k, err := newDKIMKey(domain, selector, key)
		if err != nil {
			return err
		}
		return s.dkim.add(k)
	}
}

// WithLogger sets the logger (default: slog.Default()). Nothing personal
// is logged: no address, name or reply text.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrConfig)
		}
		s.logger = l
		return nil
	}
}

// WithPerDomainRate limits messages per second to each recipient domain,
// overriding Config.Rate; 0 disables the limit. A negative rate is an
// error.
func WithPerDomainRate(r float64) Option {
	return func(s *settings) error {
		if r < 0 {
			return fmt.Errorf("%w: negative per-domain rate", ErrConfig)
		}
		s.rate = &r
		return nil
	}
}

// WithTLSConfig sets the TLS configuration for STARTTLS and implicit TLS,
// for a private CA or client certificates (default: system roots, server
// name = Config.Host). The config is cloned; ServerName is filled in when
// empty.
func WithTLSConfig(c *tls.Config) Option {
	return func(s *settings) error {
		if c == nil {
			return fmt.Errorf("%w: nil TLS config", ErrConfig)
		}
		s.tlsConf = c.Clone()
		return nil
	}
}

func applyOptions(opts []Option) (settings, error) {
	var s settings
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			return settings{}, err
		}
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s, nil
}

// Sender delivers email through an SMTP relay over a pool of at most
// Config.Pool connections that stay open across messages, because the
// EHLO/STARTTLS/AUTH handshake costs more than a message. It is safe for
// concurrent use; connections are dialed on first need, never in New.
type Sender struct {
	cfg      Config
	comp     composer
	log      *slog.Logger
	pool     *pool
	throttle *throttle
	newConn  func() (*conn, error)
}

var _ channel.Sender = (*Sender)(nil)

// New returns a Sender for cfg (zero fields take the documented defaults).
// It does not dial. Errors wrap ErrConfig.
func New(cfg Config, opts ...Option) (*Sender, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	st, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if st.rate != nil {
		cfg.Rate = *st.rate
	}
	tlsConf := st.tlsConf
	if tlsConf == nil {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = cfg.Host
	}
	s := &Sender{
		cfg:  cfg,
		comp: composer{dkim: st.dkim, corr: st.corr},
		log:  st.logger.With("channel", emailch.Name),
	}
	if cfg.Rate > 0 {
		s.throttle = newThrottle(cfg.Rate)
	}
	newConn := func() (*conn, error) { return newSMTPConn(cfg, tlsConf) }
	// Build one client now so that a bad option fails New, not every Send.
	if _, err := newConn(); err != nil {
		return nil, err
	}
	s.pool = newPool(cfg.Pool, cfg.IdleTimeout, newConn)
	s.newConn = newConn
	return s, nil
}

// newSMTPConn returns a conn whose go-mail client dials, greets, does
// STARTTLS and AUTH; the transaction itself is transact's, so go-mail's
// per-message options (DSN, NoEncoding, its debug log) are not used.
func newSMTPConn(cfg Config, tlsConf *tls.Config) (*conn, error) {
	c := &conn{}
	var implicit *tls.Config
	opts := []mail.Option{
		mail.WithPort(cfg.Port),
		mail.WithTimeout(cfg.Timeout),
		// The pool detects dead connections itself (a network error at
		// MAIL FROM is retried on a fresh connection), and a completed
		// DATA already ends the transaction: NOOP and RSET before and
		// after each message would only double the round trips.
		mail.WithoutNoop(),
		mail.WithoutRset(),
		mail.WithTLSConfig(tlsConf),
	}
	auth := mail.SMTPAuthAutoDiscover
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
		auth = mail.SMTPAuthPlainNoEnc
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		auth = mail.SMTPAuthPlainNoEnc
	case TLSImplicit:
		// Our dialer does the TLS handshake (see conn.dial), so go-mail
		// must not try STARTTLS on top; PLAIN is safe inside TLS.
		implicit = tlsConf
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		auth = mail.SMTPAuthPlain
	}
	opts = append(opts, mail.WithDialContextFunc(c.dial(implicit)))
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password), mail.WithSMTPAuth(auth))
	}
	client, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.client = client
	return c, nil
}

// Name returns "email".
func (s *Sender) Name() string { return emailch.Name }

// Send builds, signs and delivers m, and returns its Message-ID (without
// angle brackets) as the ProviderID. Errors are *Error values (see Reason)
// except for a cancelled ctx, which is returned wrapped: a 5xx reply wraps
// channel.ErrPermanent ("hard_bounce" at RCPT, "rejected" elsewhere), a
// 4xx reply or a network failure before the end of DATA is temporary, and
// a lost reply after the end of DATA wraps channel.ErrAmbiguous.
func (s *Sender) Send(ctx context.Context, m *channel.Message) (channel.Receipt, error) {
	send, _, err := s.Prepare(ctx, m)
	if err != nil {
		return channel.Receipt{}, err
	}
	return send(ctx)
}

// Prepare builds and signs m, waits for the per-domain rate and for a
// pooled connection, and returns the function that sends m on it. It
// implements channel.Preparer.
func (s *Sender) Prepare(ctx context.Context, m *channel.Message) (channel.Handover, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("email: send: %w", err)
	}
	msg, id, err := s.comp.compose(m)
	if err != nil {
		return nil, nil, err
	}
	env, err := envelopeOf(msg)
	if err != nil {
		return nil, nil, err
	}
	buf := bufPool.Get().(*bytes.Buffer)
	free := func() { buf.Reset(); bufPool.Put(buf) }
	if _, err := msg.WriteTo(buf); err != nil {
		free()
		return nil, nil, buildErr(ReasonInvalidHeader, fmt.Errorf("render: %w", err))
	}
	env.data = buf.Bytes()
	if s.throttle != nil {
		if err := s.throttle.wait(ctx, m.To); err != nil {
			free()
			return nil, nil, fmt.Errorf("email: per-domain rate: %w", err)
		}
	}
	c, err := s.pool.get(ctx)
	if err != nil {
		free()
		if errors.Is(err, ErrClosed) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("email: waiting for a connection: %w", err)
	}
	// The connection is opened and greeted here, before the caller marks
	// the send as submitting: a relay that does not answer, or a process
	// killed while dialing, leaves a send certainly not handed over.
	if !c.connected() {
		if err := c.open(ctx); err != nil {
			s.pool.put(c, true)
			free()
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("email: dial: %w", context.Cause(ctx))
			}
			e := classifyDial(err)
			s.log.Debug("smtp dial failed", "relay", s.cfg.Host, "reason", e.Reason)
			return nil, nil, account(e)
		}
		c.fresh = true
	}
	send := func(ctx context.Context) (channel.Receipt, error) {
		defer free()
		if err := s.deliver(ctx, c, &env); err != nil {
			return channel.Receipt{}, err
		}
		return channel.Receipt{ProviderID: id}, nil
	}
	return send, func() {
		free()
		c.fresh = false
		s.pool.put(c, false)
	}, nil
}

// envelope is what one SMTP transaction sends: the envelope sender, the
// recipients and the rendered message.
type envelope struct {
	from  string
	rcpts []string
	data  []byte
}

// envelopeOf takes msg's envelope sender and recipients as go-mail's
// Client.Send would.
func envelopeOf(msg *mail.Msg) (envelope, error) {
	from, err := msg.GetSender(false)
	if err != nil {
		return envelope{}, buildErr(ReasonInvalidAddress, fmt.Errorf("sender: %w", err))
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return envelope{}, buildErr(ReasonInvalidAddress, fmt.Errorf("recipients: %w", err))
	}
	// Build refuses line breaks already; the envelope goes on a command
	// line, so it is checked where it is taken, as go-mail's Mail does.
	for _, a := range append([]string{from}, rcpts...) {
		if strings.ContainsAny(a, "\r\n") {
			return envelope{}, buildErr(ReasonInvalidHeader, errors.New("line break in the envelope"))
		}
	}
	return envelope{from: from, rcpts: rcpts}, nil
}

// deliver sends env on the pooled connection c and puts c back.
func (s *Sender) deliver(ctx context.Context, c *conn, env *envelope) error {
	stop := context.AfterFunc(ctx, c.abort)
	keep, err := s.attempt(ctx, c, env)
	if !stop() {
		keep = false // abort ran or is running: the connection is spoilt
	}
	s.pool.put(c, !keep)
	return err
}

// attempt sends env on c, redialing once when a reused connection turns
// out dead before the relay could accept anything. keep reports whether
// the session is still usable.
func (s *Sender) attempt(ctx context.Context, c *conn, env *envelope) (keep bool, err error) {
	for try := 0; ; try++ {
		fresh := c.fresh
		c.fresh = false
		if !c.connected() {
			if err := c.open(ctx); err != nil {
				c.drop()
				if ctx.Err() != nil {
					return false, fmt.Errorf("email: dial: %w", context.Cause(ctx))
				}
				e := classifyDial(err)
				s.log.Debug("smtp dial failed", "relay", s.cfg.Host, "reason", e.Reason)
				return false, account(e)
			}
			fresh = true
		}
		sendErr := transact(c.session, c.caps, s.cfg.Timeout, env.from, env.rcpts, env.data)
		if sendErr == nil {
			return true, nil
		}
		e := classify(sendErr)
		if e.Ambiguous {
			// The whole message went out and the reply to its final dot
			// was lost: the relay may have queued it.
			c.drop()
			s.log.Warn("smtp reply lost after the end of DATA: outcome unknown", "relay", s.cfg.Host)
			if ctx.Err() != nil {
				return false, fmt.Errorf("%w: %w", e, context.Cause(ctx))
			}
			return false, e
		}
		if ctx.Err() != nil {
			return false, fmt.Errorf("email: send: %w", context.Cause(ctx))
		}
		if e.Code == 0 || e.spoilt {
			c.drop()
		}
		if !fresh && try == 0 && safeToRetry(e) {
			s.log.Debug("smtp connection went stale, redialing", "relay", s.cfg.Host, "stage", e.Stage)
			continue
		}
		s.log.Debug("smtp send failed", "stage", e.Stage, "code", e.Code, "reason", e.Reason)
		return e.Code != 0 && !e.spoilt, account(e)
	}
}

// Probe opens one connection to the relay with the configured
// handshake (TLS, AUTH) and quits it, sending nothing: nil when the relay
// accepts the account now, an account error (channel.ErrAccount) while
// it still refuses it, any other error when it cannot be reached. It
// implements channel.Prober.
func (s *Sender) Probe(ctx context.Context) error {
	c, err := s.newConn()
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return account(classifyDial(err))
	}
	c.quit()
	return nil
}

// Close quits idle connections and stops the idle-connection janitor;
// connections still sending are closed when their send ends. Later Sends
// return ErrClosed.
func (s *Sender) Close() error { return s.pool.close() }
