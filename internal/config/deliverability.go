package config

import (
	"net/url"
	"strings"
	"time"
)

// Deliverability configures what happens to email after the SMTP relay
// accepted it: the Return-Path domain, the bounce mailbox and the email
// providers' webhooks (docs/deliverability.md). Its keys are top-level
// keys of relais.yaml.
type Deliverability struct {
	// BounceDomain (RELAIS_BOUNCE_DOMAIN) is the domain of the VERP
	// Return-Path bounce+<token>@<domain>; its MX must deliver to the
	// bounce mailbox. Default: each message's From domain.
	BounceDomain string `yaml:"bounce_domain"`
	// BounceMailbox (RELAIS_BOUNCE_MAILBOX) is where bounces and
	// feedback reports arrive: imaps://user:pass@host/INBOX (imap:// on
	// loopback only). Empty: no mailbox is polled.
	BounceMailbox string `yaml:"bounce_mailbox"`
	// BouncePollInterval (RELAIS_BOUNCE_POLL_INTERVAL) is how often
	// `serve` polls the mailbox. Default: 5m.
	BouncePollInterval time.Duration `yaml:"bounce_poll_interval"`
	// SoftBounces suppresses an address after Limit soft bounces within
	// Window. Default: 3 within 30d.
	SoftBounces SoftBounces `yaml:"soft_bounces"`
	// EmailWebhooks are the providers whose event webhooks are served
	// under /hooks/email/.
	EmailWebhooks EmailWebhooks `yaml:"email_webhooks"`
}

// SoftBounces is the soft-bounce suppression threshold.
type SoftBounces struct {
	Limit  int `yaml:"limit"` // 0 never suppresses
	Window Age `yaml:"window"`
}

// EmailWebhooks configures each provider's webhook; a provider left empty
// is not served.
type EmailWebhooks struct {
	SES struct {
		// Enabled serves /hooks/email/ses (RELAIS_SES_WEBHOOK=true).
		Enabled bool `yaml:"enabled"`
		// TopicARNs accepted (empty: any SNS-signed topic).
		TopicARNs []string `yaml:"topic_arns"`
	} `yaml:"ses"`
	SendGrid struct {
		// VerificationKey (RELAIS_SENDGRID_VERIFICATION_KEY) is the signed
		// event webhook's public key, base64 as SendGrid shows it.
		VerificationKey string `yaml:"verification_key"`
	} `yaml:"sendgrid"`
	Mailgun struct {
		// SigningKey (RELAIS_MAILGUN_SIGNING_KEY) is the HTTP webhook
		// signing key.
		SigningKey string `yaml:"signing_key"`
	} `yaml:"mailgun"`
	Postmark struct {
		// User and Password (RELAIS_POSTMARK_WEBHOOK_USER,
		// RELAIS_POSTMARK_WEBHOOK_PASSWORD) are the basic-auth
		// credentials put in the webhook URL set in Postmark.
		User     string `yaml:"user"`
		Password string `yaml:"password"`
	} `yaml:"postmark"`
}

// DefaultDeliverability returns the defaults.
func DefaultDeliverability() Deliverability {
	return Deliverability{BouncePollInterval: 5 * time.Minute,
		SoftBounces: SoftBounces{Limit: 3, Window: Age(30 * 24 * time.Hour)}}
}

// deliverabilityEnv are the environment variables of Deliverability.
var deliverabilityEnv = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"RELAIS_BOUNCE_DOMAIN", func(c *Config, v string) error { c.BounceDomain = v; return nil }},
	{"RELAIS_BOUNCE_MAILBOX", func(c *Config, v string) error { c.BounceMailbox = v; return nil }},
	{"RELAIS_BOUNCE_POLL_INTERVAL", func(c *Config, v string) (err error) { c.BouncePollInterval, err = time.ParseDuration(v); return }},
	{"RELAIS_SES_WEBHOOK", func(c *Config, v string) error { c.EmailWebhooks.SES.Enabled = v == "true" || v == "1"; return nil }},
	{"RELAIS_SENDGRID_VERIFICATION_KEY", func(c *Config, v string) error { c.EmailWebhooks.SendGrid.VerificationKey = v; return nil }},
	{"RELAIS_MAILGUN_SIGNING_KEY", func(c *Config, v string) error { c.EmailWebhooks.Mailgun.SigningKey = v; return nil }},
	{"RELAIS_POSTMARK_WEBHOOK_USER", func(c *Config, v string) error { c.EmailWebhooks.Postmark.User = v; return nil }},
	{"RELAIS_POSTMARK_WEBHOOK_PASSWORD", func(c *Config, v string) error { c.EmailWebhooks.Postmark.Password = v; return nil }},
}

func init() {
	env = append(env, deliverabilityEnv...)
}

func (d Deliverability) validate(bad func(key, format string, a ...any)) {
	if strings.ContainsAny(d.BounceDomain, "@/ ") {
		bad("bounce_domain", "must be a domain name")
	}
	if d.BounceMailbox != "" {
		u, err := url.Parse(d.BounceMailbox)
		if err != nil || (u.Scheme != "imaps" && u.Scheme != "imap") || u.Host == "" {
			bad("bounce_mailbox", "must be imaps://user:pass@host/FOLDER (imap:// on loopback only)")
		}
	}
	if d.BouncePollInterval < time.Second {
		bad("bounce_poll_interval", "must be at least 1s")
	}
	if d.SoftBounces.Limit < 0 {
		bad("soft_bounces.limit", "must not be negative")
	}
	if d.SoftBounces.Window.Duration() <= 0 {
		bad("soft_bounces.window", "must be positive")
	}
	p := d.EmailWebhooks.Postmark
	if (p.User == "") != (p.Password == "") {
		bad("email_webhooks.postmark", "user and password go together")
	}
	if p.Password != "" && len(p.Password) < 12 {
		bad("email_webhooks.postmark.password", "must be at least 12 characters")
	}
}
