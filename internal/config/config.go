// Package config loads relais' configuration: defaults, then relais.yaml,
// then RELAIS_* / TWILIO_* environment variables, then validation.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/postal"
	"github.com/relais-dev/relais/internal/queue"
)

// Config is relais' configuration. Empty infrastructure URLs select
// embedded mode for that part.
type Config struct {
	// RedisURL (RELAIS_REDIS_URL) is the asynq queue: redis://,
	// rediss://, redis-sentinel://[:pw@]h1:26379,h2:26379/master[?db=N]
	// or redis-cluster://[:pw@]h1:7000,h2:7001/. Empty: an in-process, non-durable
	// queue (embedded mode).
	RedisURL string `yaml:"redis_url"`
	// DatabaseURL (RELAIS_DATABASE_URL) is postgres://… or sqlite:PATH.
	// Default: sqlite:<data_dir>/relais.db.
	DatabaseURL string `yaml:"database_url"`
	// DatabaseMaxConns (RELAIS_DATABASE_MAX_CONNS) bounds each process's
	// PostgreSQL connection pool, so that api, scheduler and N workers fit
	// under the server's max_connections. 0: max(16, 4×GOMAXPROCS). A
	// pool_max_conns parameter in the URL wins.
	DatabaseMaxConns int `yaml:"database_max_conns"`
	// SMTPURL (RELAIS_SMTP_URL), e.g. smtp://user:pass@host:587?tls=starttls.
	// Empty: emails are written as .eml files under <outbox_dir>/email.
	SMTPURL string `yaml:"smtp_url"`
	// TwilioAccountSID, TwilioAuthToken (TWILIO_ACCOUNT_SID,
	// TWILIO_AUTH_TOKEN) enable the sms/mms channels; empty: outbox.
	TwilioAccountSID string `yaml:"twilio_account_sid"`
	TwilioAuthToken  string `yaml:"twilio_auth_token"`
	// TwilioAPIBaseURL (TWILIO_API_BASE_URL) points twilio-go at another
	// host, such as a test double. Empty: Twilio's API.
	TwilioAPIBaseURL string `yaml:"twilio_api_base_url"`
	// Secret (RELAIS_SECRET) is the HMAC key of tracking tokens and
	// suppression hashes. Required outside embedded mode; embedded mode
	// generates one and keeps it in <data_dir>/secret.
	Secret string `yaml:"secret"`
	// PreviousSecrets (RELAIS_PREVIOUS_SECRETS, comma-separated) are
	// former secrets whose tracking tokens stay valid after a rotation:
	// unsubscribe links in old messages must keep working.
	PreviousSecrets []string `yaml:"previous_secrets"`
	// PublicURL (RELAIS_PUBLIC_URL) is the base of tracking links and
	// webhooks. Default: http://<http_addr>.
	PublicURL string `yaml:"public_url"`
	// LandingURL (RELAIS_LANDING_URL) is where a personal URL (/r/CODE of
	// a reply coupon) redirects; "{code}" in it is replaced by the code.
	// Empty: relais shows a thank-you page.
	LandingURL string `yaml:"landing_url"`
	// HTTPAddr (RELAIS_HTTP_ADDR) is the API/dashboard listen address.
	// Default: 127.0.0.1:8080.
	HTTPAddr string `yaml:"http_addr"`
	// AdminAddr (RELAIS_ADMIN_ADDR), when set, is a second listener that
	// alone serves the dashboard (/ui/) and /metrics, so the public
	// listener (tracking, webhooks, API) does not expose them. Empty: both
	// are on http_addr, and /metrics asks for an API key.
	AdminAddr string `yaml:"admin_addr"`
	// HTTPReadTimeout bounds reading one request, body included (a slow
	// client is cut). Default: 60s.
	HTTPReadTimeout time.Duration `yaml:"http_read_timeout"`
	// HTTPWriteTimeout bounds writing one response. Default: 120s.
	HTTPWriteTimeout time.Duration `yaml:"http_write_timeout"`
	// HTTPIdleTimeout closes a kept-alive connection idle this long.
	// Default: 120s.
	HTTPIdleTimeout time.Duration `yaml:"http_idle_timeout"`
	// SessionIdleTimeout ends a dashboard session without a request for
	// this long. Default: 30m.
	SessionIdleTimeout time.Duration `yaml:"session_idle_timeout"`
	// SessionMaxAge ends a dashboard session this long after sign-in,
	// whatever its activity. Default: 12h.
	SessionMaxAge time.Duration `yaml:"session_max_age"`
	// LinkHosts are hosts click tracking signs links to in every message,
	// beyond those written in its templates (a link whose URL comes from
	// API data, such as an order page). Default: none.
	LinkHosts []string `yaml:"link_hosts"`
	// RenderTimeout is the time budget of rendering one message; a
	// template over it fails that message (render_error). Default: 200ms.
	RenderTimeout time.Duration `yaml:"render_timeout"`
	// OpsAddr (RELAIS_OPS_ADDR), when set, is where a `relais serve`
	// without the api role answers /healthz, /readyz and /metrics, so
	// worker processes can be probed and scraped. Default: none.
	OpsAddr string `yaml:"ops_addr"`
	// CampaignsDir (RELAIS_CAMPAIGNS_DIR) is the folder of campaign files.
	// Default: campaigns.
	CampaignsDir string `yaml:"campaigns_dir"`
	// DataDir (RELAIS_DATA_DIR) holds the SQLite file and the outbox in
	// embedded mode. Default: var.
	DataDir string `yaml:"data_dir"`
	// OutboxDir (RELAIS_OUTBOX_DIR) is where outbox transports write.
	// Default: <data_dir>/outbox. In embedded mode a channel without a
	// provider writes there; with a redis_url set, only when outbox_dir
	// is given explicitly (otherwise a campaign on such a channel is a
	// startup error: production would silently write files).
	OutboxDir string `yaml:"outbox_dir"`
	// ChannelProbeInterval (RELAIS_CHANNEL_PROBE_INTERVAL) is how often a
	// worker checks the account of a channel paused by an account-level
	// refusal (SMTP AUTH, a Twilio account fetch) and resumes it when the
	// provider accepts it again. 0 disables the probe: paused channels
	// wait for `relais resume-channel`. Default: 1m.
	ChannelProbeInterval time.Duration `yaml:"channel_probe_interval"`
	// outboxExplicit: outbox_dir was given (file or environment) rather
	// than derived from data_dir.
	outboxExplicit bool
	// Concurrency (RELAIS_CONCURRENCY) is the number of sends a worker
	// process runs at once. Default: 50.
	Concurrency int `yaml:"concurrency"`
	// Batch groups a run's marketing sends into batches handled at once
	// (see Batch). Default: DefaultBatch().
	Batch Batch `yaml:"batch"`
	// ShutdownTimeout (RELAIS_SHUTDOWN_TIMEOUT) is how long in-flight jobs
	// may take to finish on SIGTERM before they are requeued. Default: 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TaskRetention (RELAIS_TASK_RETENTION) keeps finished send tasks in
	// Redis so that a re-enqueue of the same send is refused by the queue
	// too (the ledger refuses it anyway). Default: 1h.
	TaskRetention time.Duration `yaml:"task_retention"`
	// InFlightGrace (RELAIS_IN_FLIGHT_GRACE) is how long a send found
	// mid-submission is presumed in the hands of a live worker (looked at
	// again later) rather than left by a dead one (held as ambiguous). It
	// must exceed the providers' timeouts; 0 judges at once. Default: 20s.
	InFlightGrace time.Duration `yaml:"in_flight_grace"`
	// RetryBackoff (RELAIS_RETRY_BACKOFF) is the first delay before a send
	// refused for now (SMTP 4xx, a network error before the handover, a
	// store outage) is tried again, doubling with each retry. Default 0:
	// asynq's backoff (15 s and more, growing with the fourth power of
	// the retry count).
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// LogFormat (RELAIS_LOG_FORMAT) is "text" or "json". Default: text on
	// a terminal, json otherwise.
	LogFormat string `yaml:"log_format"`
	// LogLevel (RELAIS_LOG_LEVEL): debug, info, warn, error. Default: info.
	LogLevel string `yaml:"log_level"`
	// Policy holds the consent, suppression, frequency-cap and quiet-hour
	// rules (docs/compliance.md). Default: policy.DefaultRules().
	Policy policy.Rules `yaml:"policy"`
	// Print is the letter layout of the print channel (docs/print.md).
	// Default: postal.DefaultLayout() (A4, DL window envelope).
	Print postal.Layout `yaml:"print"`
	// Retention is the daily erasure of inactive prospects by the
	// scheduler (docs/compliance.md). Default: DefaultRetentionConfig()
	// (enabled, older_than 3y, cron "30 3 * * *" Europe/Paris).
	Retention Retention `yaml:"retention"`
	// DKIM holds the keys outgoing email is signed with, by From domain
	// (see DKIM; env RELAIS_DKIM_PRIVATE_KEY). Default: none, unsigned.
	DKIM DKIM `yaml:"dkim"`
	// Deliverability holds the bounce and complaint settings
	// (bounce_domain, bounce_mailbox, soft_bounces, email_webhooks).
	Deliverability `yaml:",inline"`
	// Limits are per-channel send rates shared by every campaign (limits:
	// {email: 500/h} while a new sending domain warms up), on top of each
	// campaign's own; see Rates. Default: none.
	Limits map[string]string `yaml:"limits"`
	// ProofTo are the reviewers `relais proof` sends to when neither the
	// command nor the campaign (proof.to) names any. Default: none.
	ProofTo []string `yaml:"proof_to"`
	// Register describes the controller and the processors for `relais
	// register` (the record of processing activities). Default: empty.
	Register Register `yaml:"register"`
}

// Default returns the configuration with every default applied.
func Default() Config {
	return Config{
		HTTPAddr:             "127.0.0.1:8080",
		HTTPReadTimeout:      60 * time.Second,
		HTTPWriteTimeout:     120 * time.Second,
		HTTPIdleTimeout:      120 * time.Second,
		SessionIdleTimeout:   30 * time.Minute,
		SessionMaxAge:        12 * time.Hour,
		RenderTimeout:        200 * time.Millisecond,
		CampaignsDir:         "campaigns",
		DataDir:              "var",
		Concurrency:          50,
		ShutdownTimeout:      30 * time.Second,
		TaskRetention:        time.Hour,
		InFlightGrace:        20 * time.Second,
		ChannelProbeInterval: time.Minute,
		LogLevel:             "info",
		Policy:               policy.DefaultRules(),
		Print:                postal.DefaultLayout(),
		Retention:            DefaultRetentionConfig(),
		Batch:                DefaultBatch(),
		Deliverability:       DefaultDeliverability(),
	}
}

// env lists the environment variables and the field each one sets.
var env = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"RELAIS_REDIS_URL", func(c *Config, v string) error { c.RedisURL = v; return nil }},
	{"RELAIS_DATABASE_URL", func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{"RELAIS_DATABASE_MAX_CONNS", func(c *Config, v string) (err error) { c.DatabaseMaxConns, err = strconv.Atoi(v); return }},
	{"RELAIS_SMTP_URL", func(c *Config, v string) error { c.SMTPURL = v; return nil }},
	{"TWILIO_ACCOUNT_SID", func(c *Config, v string) error { c.TwilioAccountSID = v; return nil }},
	{"TWILIO_AUTH_TOKEN", func(c *Config, v string) error { c.TwilioAuthToken = v; return nil }},
	{"TWILIO_API_BASE_URL", func(c *Config, v string) error { c.TwilioAPIBaseURL = v; return nil }},
	{"RELAIS_SECRET", func(c *Config, v string) error { c.Secret = v; return nil }},
	{"RELAIS_PREVIOUS_SECRETS", func(c *Config, v string) error { c.PreviousSecrets = strings.Split(v, ","); return nil }},
	{"RELAIS_PUBLIC_URL", func(c *Config, v string) error { c.PublicURL = v; return nil }},
	{"RELAIS_LANDING_URL", func(c *Config, v string) error { c.LandingURL = v; return nil }},
	{"RELAIS_HTTP_ADDR", func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
	{"RELAIS_ADMIN_ADDR", func(c *Config, v string) error { c.AdminAddr = v; return nil }},
	{"RELAIS_OPS_ADDR", func(c *Config, v string) error { c.OpsAddr = v; return nil }},
	{"RELAIS_CAMPAIGNS_DIR", func(c *Config, v string) error { c.CampaignsDir = v; return nil }},
	{"RELAIS_DATA_DIR", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"RELAIS_OUTBOX_DIR", func(c *Config, v string) error { c.OutboxDir = v; return nil }},
	{"RELAIS_CHANNEL_PROBE_INTERVAL", func(c *Config, v string) (err error) { c.ChannelProbeInterval, err = time.ParseDuration(v); return }},
	{"RELAIS_CONCURRENCY", func(c *Config, v string) (err error) { c.Concurrency, err = strconv.Atoi(v); return }},
	{"RELAIS_BATCH_SIZE", func(c *Config, v string) (err error) { c.Batch.Size, err = strconv.Atoi(v); return }},
	{"RELAIS_SHUTDOWN_TIMEOUT", func(c *Config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return }},
	{"RELAIS_TASK_RETENTION", func(c *Config, v string) (err error) { c.TaskRetention, err = time.ParseDuration(v); return }},
	{"RELAIS_IN_FLIGHT_GRACE", func(c *Config, v string) (err error) { c.InFlightGrace, err = time.ParseDuration(v); return }},
	{"RELAIS_RETRY_BACKOFF", func(c *Config, v string) (err error) { c.RetryBackoff, err = time.ParseDuration(v); return }},
	{"RELAIS_LOG_FORMAT", func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{"RELAIS_LOG_LEVEL", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"RELAIS_DKIM_PRIVATE_KEY", func(c *Config, v string) error { c.DKIM.PrivateKey = v; return nil }},
}

// EnvNames returns every environment variable the configuration reads,
// each NAME also readable from a file named by NAME_FILE, so deployment
// files can be checked against what the binary knows.
func EnvNames() []string {
	out := make([]string, 0, 2*len(env))
	for _, e := range env {
		out = append(out, e.name, e.name+"_FILE")
	}
	return out
}

// Load builds the configuration: Default(), then the YAML file (when file
// is non-empty; "relais.yaml" is read when file is empty and it exists),
// then the environment (getenv), then Validate. Unknown keys in the file
// and unparsable values are errors naming the key.
func Load(file string, getenv func(string) string) (Config, error) {
	c := Default()
	explicit := file != ""
	if !explicit {
		file = "relais.yaml"
	}
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, decodeError(file, err)
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return c, fmt.Errorf("config: %w", err)
	}
	for _, e := range env {
		v := getenv(e.name)
		if f := getenv(e.name + "_FILE"); v == "" && f != "" {
			// Secrets mounted as files (Docker and Kubernetes secrets):
			// NAME_FILE names the file holding NAME's value.
			b, err := os.ReadFile(f)
			if err != nil {
				return c, fmt.Errorf("%s_FILE: %w", e.name, err)
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if v != "" {
			if err := e.set(&c, v); err != nil {
				return c, fmt.Errorf("%s: invalid value: %w", e.name, err)
			}
		}
	}
	c.applyDerived()
	return c, c.Validate()
}

func (c *Config) applyDerived() {
	c.outboxExplicit = c.OutboxDir != ""
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + strings.TrimSuffix(c.DataDir, "/") + "/relais.db"
	}
	if c.OutboxDir == "" {
		c.OutboxDir = strings.TrimSuffix(c.DataDir, "/") + "/outbox"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	if c.LogFormat == "" {
		c.LogFormat = "auto"
	}
}

// Validate checks values and names the offending key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, a...)...))
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		bad("concurrency", "must be between 1 and 10000, got %d", c.Concurrency)
	}
	if c.DatabaseMaxConns < 0 || c.DatabaseMaxConns > 10000 {
		bad("database_max_conns", "must be between 0 (default) and 10000, got %d", c.DatabaseMaxConns)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"http_read_timeout", c.HTTPReadTimeout}, {"http_write_timeout", c.HTTPWriteTimeout},
		{"http_idle_timeout", c.HTTPIdleTimeout}, {"render_timeout", c.RenderTimeout},
		{"session_idle_timeout", c.SessionIdleTimeout}, {"session_max_age", c.SessionMaxAge}} {
		if d.v <= 0 {
			bad(d.key, "must be positive")
		}
	}
	c.Batch.validate(bad)
	if c.TaskRetention < 0 {
		bad("task_retention", "must not be negative")
	}
	if c.InFlightGrace < 0 {
		bad("in_flight_grace", "must not be negative")
	}
	if c.RetryBackoff < 0 {
		bad("retry_backoff", "must not be negative")
	}
	if c.ChannelProbeInterval < 0 {
		bad("channel_probe_interval", "must not be negative (0 disables the probe)")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("public_url", "must be an absolute http(s) URL")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || !redisSchemes[u.Scheme] {
			bad("redis_url", "must be a redis://, rediss://, redis-sentinel:// or redis-cluster:// URL")
		}
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database_url", "must start with sqlite:, postgres:// or postgresql://")
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			bad("smtp_url", "must be smtp://[user:pass@]host:port[?tls=…] or smtps://…")
		}
	}
	if (c.TwilioAccountSID == "") != (c.TwilioAuthToken == "") {
		bad("twilio_account_sid", "twilio_account_sid and twilio_auth_token go together")
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		bad("log_format", "must be text or json, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if !c.Embedded() && c.Secret == "" {
		bad("secret", "is required when redis_url is set (RELAIS_SECRET): tracking tokens and suppression hashes depend on it")
	}
	if c.Secret != "" && len(c.Secret) < 16 {
		bad("secret", "must be at least 16 characters")
	}
	if _, err := c.Print.Normalize(); err != nil {
		bad("print", "%v", err)
	}
	if err := c.Policy.Validate(); err != nil {
		bad("policy", "%v", err)
	}
	if _, err := c.Rates(); err != nil {
		errs = append(errs, err)
	}
	c.Retention.validate(bad)
	c.Deliverability.validate(bad)
	if c.DKIM.Enabled() {
		if _, err := c.DKIM.Signers(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// redisSchemes are the schemes redis_url accepts (queue.RedisOpt).
var redisSchemes = map[string]bool{"redis": true, "rediss": true, "redis-sentinel": true, "redis-cluster": true, "redis-socket": true}

// OutboxAllowed reports whether a channel without a configured provider
// may write to the outbox: always in embedded mode, and with a redis_url
// only when outbox_dir was set explicitly.
func (c *Config) OutboxAllowed() bool { return c.Embedded() || c.outboxExplicit }

// Embedded reports whether the queue runs in-process (no RedisURL).
func (c *Config) Embedded() bool { return c.RedisURL == "" }

// Batch is how a worker groups a run's marketing sends: up to Size sends
// of a run step and channel are claimed, checked and recorded together
// (transactional sends are never grouped). A group waits at most
// MaxDelay for Size sends, plus asynq's aggregation check, which runs
// every GracePeriod (at least 1s); Shards splits a step's sends into that
// many groups, since each check takes one batch per group.
type Batch struct {
	// Size (RELAIS_BATCH_SIZE) is the most sends in a batch; 1 turns
	// batching off. Default: 100.
	Size int `yaml:"size"`
	// Shards is how many groups a run step's sends are spread over.
	// Default: 64.
	Shards int `yaml:"shards"`
	// MaxDelay bounds how long a send waits for its batch to fill.
	// Default: 1s.
	MaxDelay time.Duration `yaml:"max_delay"`
	// GracePeriod is how long a group with no new send waits before it
	// is handled, and how often groups are checked. Default: 1s, the
	// least asynq allows.
	GracePeriod time.Duration `yaml:"grace_period"`
}

// DefaultBatch returns queue.DefaultBatching() as configuration.
func DefaultBatch() Batch {
	d := queue.DefaultBatching()
	return Batch{Size: d.Size, Shards: d.Shards, MaxDelay: d.MaxDelay, GracePeriod: d.GracePeriod}
}

// Batching returns b for the queue.
func (b Batch) Batching() queue.Batching {
	return queue.Batching{Size: b.Size, Shards: b.Shards, MaxDelay: b.MaxDelay, GracePeriod: b.GracePeriod}
}

func (b Batch) validate(bad func(key, format string, a ...any)) {
	if b.Size < 1 || b.Size > 1000 {
		bad("batch.size", "must be between 1 (no batching) and 1000, got %d", b.Size)
	}
	if b.Shards < 1 || b.Shards > 1024 {
		bad("batch.shards", "must be between 1 and 1024, got %d", b.Shards)
	}
	if b.MaxDelay <= 0 {
		bad("batch.max_delay", "must be positive")
	}
	if b.GracePeriod < time.Second {
		bad("batch.grace_period", "must be at least 1s, got %s", b.GracePeriod)
	}
}

// Rates returns Limits parsed, by channel name; an unknown channel or a
// rate that does not parse is an error naming the key.
func (c *Config) Rates() (map[string]campaign.Rate, error) {
	out := make(map[string]campaign.Rate, len(c.Limits))
	known := builtin.Channels()
	var errs []error
	for ch, v := range c.Limits {
		if _, ok := known.Lookup(ch); !ok {
			errs = append(errs, fmt.Errorf("limits.%s: unknown channel (limits name channels: %s)", ch, strings.Join(known.Names(), ", ")))
			continue
		}
		r, err := campaign.ParseRate(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("limits.%s: %w", ch, err))
			continue
		}
		out[ch] = r
	}
	return out, errors.Join(errs...)
}
