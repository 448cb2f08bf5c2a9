// Package email delivers channel.Messages by email: it builds the MIME
// message with go-mail, signs it with DKIM (emersion/go-msgauth) and either
// hands it to an SMTP relay over a pool of long-lived connections (Sender)
// or writes it as an .eml file (Outbox). Both paths share one builder so the
// outbox shows exactly what SMTP would have sent.
package email

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TLSMode says how the connection to the relay is encrypted.
type TLSMode string

// TLS modes accepted in the tls= URL parameter.
const (
	// TLSStartTLS requires STARTTLS; a relay without it is an error. It is
	// the default for smtp:// because credentials must not cross in clear.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit dials TLS directly (port 465); the default for smtps://.
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts; for a relay on loopback or a test server.
	TLSNone TLSMode = "none"
	// TLSOpportunistic uses STARTTLS when the relay offers it.
	TLSOpportunistic TLSMode = "opportunistic"
)

// Defaults applied by ParseURL and New for zero fields.
const (
	DefaultPool        = 10
	DefaultTimeout     = 10 * time.Second
	DefaultIdleTimeout = 30 * time.Second
)

// ErrConfig is wrapped by every configuration error from ParseURL, New and
// the options, so that callers can tell a bad setting from a failed send.
var ErrConfig = errors.New("email: invalid configuration")

// Config is where and how to reach the SMTP relay. Build it with ParseURL
// from RELAIS_SMTP_URL; the zero values of optional fields take the
// defaults documented on each.
type Config struct {
	Host     string
	Port     int // default 587 for smtp://, 465 for smtps://
	Username string
	Password string // never printed: see String
	TLS      TLSMode
	// Pool is the maximum number of open SMTP connections (default 10).
	Pool int
	// Timeout bounds dialing and each SMTP command (default 10s).
	Timeout time.Duration
	// IdleTimeout closes a pooled connection unused for that long, before
	// the relay drops it on its own (default 30s).
	IdleTimeout time.Duration
	// HELO is the name announced in EHLO (default: go-mail's, the host name).
	HELO string
	// Rate limits messages per second per recipient domain, so that one
	// large campaign does not get the sender greylisted by a big mailbox
	// provider; 0 means unlimited (the default).
	Rate float64
}

// String describes the relay without the password, for logs.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.TLS == TLSImplicit {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.UserPassword(c.Username, "xxxxx")
	}
	q := url.Values{}
	q.Set("tls", string(c.TLS))
	q.Set("pool", strconv.Itoa(c.Pool))
	u.RawQuery = q.Encode()
	return u.String()
}

// ParseURL reads an SMTP URL:
//
//	smtp://user:pass@host:port?tls=starttls|tls|none|opportunistic&pool=N&timeout=10s&helo=name&rate=2.5&idle=30s
//
// smtps:// means implicit TLS. Errors wrap ErrConfig, name the bad part and
// never contain the password (url.Parse's own errors quote the whole URL, so
// they are not wrapped).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%w: SMTP URL is not a valid URL", ErrConfig)
	}
	cfg := Config{Pool: DefaultPool, Timeout: DefaultTimeout, IdleTimeout: DefaultIdleTimeout}
	switch u.Scheme {
	case "smtp":
		cfg.TLS, cfg.Port = TLSStartTLS, 587
	case "smtps":
		cfg.TLS, cfg.Port = TLSImplicit, 465
	default:
		return Config{}, fmt.Errorf("%w: scheme %q (want smtp or smtps)", ErrConfig, u.Scheme)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return Config{}, fmt.Errorf("%w: host is missing", ErrConfig)
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return Config{}, fmt.Errorf("%w: port %q", ErrConfig, p)
		}
		cfg.Port = port
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	if err := cfg.applyQuery(u.Query(), u.Scheme); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

func (c *Config) applyQuery(q url.Values, scheme string) error {
	for key, vals := range q {
		v := vals[len(vals)-1]
		var err error
		switch key {
		case "tls":
			c.TLS = TLSMode(strings.ToLower(v))
			if scheme == "smtps" && c.TLS != TLSImplicit {
				err = errors.New("smtps:// implies tls=tls")
			}
		case "pool":
			c.Pool, err = strconv.Atoi(v)
		case "timeout":
			c.Timeout, err = time.ParseDuration(v)
		case "idle":
			c.IdleTimeout, err = time.ParseDuration(v)
		case "helo":
			c.HELO = v
		case "rate":
			c.Rate, err = strconv.ParseFloat(v, 64)
		default:
			return fmt.Errorf("%w: unknown parameter %q", ErrConfig, key)
		}
		if err != nil {
			return fmt.Errorf("%w: parameter %s=%q: %w", ErrConfig, key, v, err)
		}
	}
	return nil
}

// validate checks c after defaults were applied.
func (c *Config) validate() error {
	switch c.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone, TLSOpportunistic:
	default:
		return fmt.Errorf("%w: parameter tls=%q (want starttls, tls, none or opportunistic)", ErrConfig, c.TLS)
	}
	if c.Host == "" {
		return fmt.Errorf("%w: host is missing", ErrConfig)
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("%w: port %d", ErrConfig, c.Port)
	}
	if c.Pool < 1 || c.Pool > 1000 {
		return fmt.Errorf("%w: parameter pool=%d (want 1..1000)", ErrConfig, c.Pool)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("%w: parameter timeout=%s (want > 0)", ErrConfig, c.Timeout)
	}
	if c.IdleTimeout <= 0 {
		return fmt.Errorf("%w: parameter idle=%s (want > 0)", ErrConfig, c.IdleTimeout)
	}
	if c.Rate < 0 {
		return fmt.Errorf("%w: parameter rate=%g (want >= 0)", ErrConfig, c.Rate)
	}
	if strings.ContainsAny(c.HELO, " \r\n") {
		return fmt.Errorf("%w: parameter helo contains spaces or line breaks", ErrConfig)
	}
	return nil
}

// withDefaults fills zero optional fields of a hand-built Config.
func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = 587
		if c.TLS == TLSImplicit {
			c.Port = 465
		}
	}
	if c.Pool == 0 {
		c.Pool = DefaultPool
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}
