package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/config"
	"github.com/relais-dev/relais/internal/embedded"
	"github.com/relais-dev/relais/internal/feedback"
	"github.com/relais-dev/relais/internal/metrics"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/render"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/tracking"
	"github.com/relais-dev/relais/internal/twiliohook"
	"github.com/relais-dev/relais/internal/worker"
)

// loopbackURL reports whether u's host is localhost or a loopback address.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// app is one invocation of the CLI.
type app struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	configPath     string
	// now, when set (tests), is the clock of the planner and the policy
	// engine, so quiet hours can be tested on a chosen day.
	now     func() time.Time
	jsonOut bool
	// noticedNewDB: the new-database notice was printed (once).
	noticedNewDB bool

	cfg config.Config
	log *slog.Logger
	// corr, set by open, names the ledger row in every email's
	// Return-Path and headers.
	corr *bounce.Correlator
	// plugins are channels added to the built-in ones (tests).
	plugins []channelPlugin
	// outboxed names, for each channel attachSenders left on the outbox,
	// the setting that would give it a provider (see checkProviders).
	outboxed map[string]string
}

// run is the whole program; main only maps its error to an exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, nil, args, getenv, stdout, stderr)
}

// runWith is run with channels added to the built-in ones.
func runWith(ctx context.Context, plugins []channelPlugin, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdout: stdout, stderr: stderr, plugins: plugins}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	var err error
	if len(args) == 0 || !readOnlyCommands[args[0]] {
		err = root.ExecuteContext(ctx)
	} else {
		err = executeInterruptible(ctx, root)
	}
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's own error, with its "Did you mean this?" list: a typo
		// is the user's (exit 1), not an internal failure.
		return userErr(err)
	}
	return err
}

// executeInterruptible runs a read-only command. Such commands render user
// templates, which cannot be interrupted mid-execution: on a signal they
// are abandoned after a short grace instead of being waited for (nothing
// is written that a half-done run could leave inconsistent).
func executeInterruptible(ctx context.Context, root *cobra.Command) error {
	if ctx.Err() != nil {
		return errInterrupted // the signal came before the command started
	}
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	render.Interrupt()
	t := time.NewTimer(interruptGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errInterrupted
	}
}

// readOnlyCommands are abandoned within interruptGrace of a signal.
var readOnlyCommands = map[string]bool{"preview": true, "validate": true}

// interruptGrace is how long a read-only command may take to stop after
// SIGTERM or Ctrl-C.
const interruptGrace = 500 * time.Millisecond

// errInterrupted ends a read-only command that did not stop in time.
var errInterrupted = fmt.Errorf("interrupted: %w", context.Canceled)

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "relais",
		Short: "relais — multichannel campaign delivery (email, SMS/MMS, print), lawful by default",
		Long: `relais expands campaign files (YAML, committed to git) into one job per
recipient, personalizes and delivers them by email, SMS/MMS or print-ready
PDF letters, enforces consent and data-protection rules, and tracks results.

With no RELAIS_REDIS_URL / RELAIS_DATABASE_URL / RELAIS_SMTP_URL it runs in
embedded mode: in-process queue, SQLite in ./var, messages written to
./var/outbox.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(a.configPath, a.getenv)
			if err != nil {
				return userErr(err)
			}
			a.cfg = cfg
			a.log = newLogger(cfg, a.stderr)
			render.SetBudget(cfg.RenderTimeout)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration file (default ./relais.yaml when present)")
	root.PersistentFlags().BoolVar(&a.jsonOut, "json", false, "machine-readable JSON output")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return userErr(err) })
	root.Version = currentBuild().Version
	root.SetVersionTemplate("{{with .Annotations}}{{.build}}{{end}}\n")
	root.Annotations = map[string]string{"build": currentBuild().String()}
	root.AddCommand(a.versionCmd(), a.validateCmd(), a.planCmd(), a.previewCmd(), a.runCmd(), a.statusCmd(), a.recoverCmd(), a.heldCmd(), a.serveCmd(),
		a.contactsCmd(), a.consentCmd(), a.reportCmd(), a.apikeyCmd(), a.sessionsCmd(), a.bouncesCmd(), a.doctorCmd(),
		a.reviewCmd(), a.simulateCmd(), a.registerCmd(), a.showCmd(), a.migrateCmd(), a.probeCmd(),
		a.pauseCmd(), a.resumeCmd(), a.cancelCmd(), a.proofCmd(), a.approveCmd(), a.resumeChannelCmd(), a.channelsCmd())
	return root
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// deps are the services a command uses; close releases them in the
// shutdown order: senders, queue, store.
type deps struct {
	store    store.Store
	redis    *embedded.Redis
	redisOpt asynq.RedisConnOpt
	limiter  *queue.Limiter // the campaigns' rate limits, shared by every worker of the process
	// lockClient holds the runs' expansion leases (queue.ExpandLock).
	lockClient redis.UniversalClient
	// inspector reads the queue for the worker (record tasks pending).
	inspector *asynq.Inspector
	client    *queue.EnqueueClient
	policy    *policy.Engine
	// channels are the process's channels, with senders attached when
	// the command sends.
	channels *channel.Registry
	batcher  *print.Batcher
	catalog  *catalog.Catalog
	secret   []byte
	signer   *tracking.Signer
	links    *tracking.Links
	feedback *feedback.Feedback
	metrics  *metrics.Metrics
}

func (d *deps) close() {
	if d.channels != nil {
		_ = d.channels.Close()
	}
	if d.client != nil {
		_ = d.client.Close()
	}
	if d.lockClient != nil {
		_ = d.lockClient.Close()
	}
	if d.inspector != nil {
		_ = d.inspector.Close()
	}
	if d.redis != nil {
		d.redis.Close()
	}
	if d.store != nil {
		_ = d.store.Close()
	}
}

// noticeNewDatabase says on stderr, once per process, that a new local
// database is about to be created: run from the wrong folder, relais would
// otherwise start a fresh, empty ledger and contact base without a word,
// and the user would see their runs and contacts "gone".
func (a *app) noticeNewDatabase() {
	path := strings.TrimPrefix(a.cfg.DatabaseURL, "sqlite:")
	path, _, _ = strings.Cut(path, "?")
	if path == "" || strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) || a.noticedNewDB {
		return
	}
	a.noticedNewDB = true
	wd, _ := os.Getwd()
	fmt.Fprintf(a.stderr, "relais: no database here; creating a new local database %s in %s "+
		"(run relais from your campaign folder, or set RELAIS_DATABASE_URL, to use an existing one)\n", path, wd)
}

// need says which services a command opens.
type need struct{ queue, senders bool }

func (a *app) open(ctx context.Context, n need) (_ *deps, err error) {
	d := &deps{metrics: metrics.New()}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.channels, err = a.channels(); err != nil {
		return nil, err
	}
	d.catalog = a.newCatalog(d.channels)
	if strings.HasPrefix(a.cfg.DatabaseURL, "sqlite:") {
		a.noticeNewDatabase()
		if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
	}
	if d.store, err = storeopen.Open(ctx, a.databaseURL()); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	d.catalog.Versions = d.store
	st := d.store
	if err := d.metrics.WatchChannels(d.channels.Names(), func(ctx context.Context) ([]string, error) {
		ps, err := st.ChannelPauses(ctx)
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.Channel
		}
		return names, err
	}); err != nil {
		return nil, err
	}
	if d.secret, err = a.secret(); err != nil {
		return nil, err
	}
	if d.signer, err = tracking.SignerFromSecrets(string(d.secret), a.cfg.PreviousSecrets...); err != nil {
		return nil, err
	}
	a.corr = a.correlator(d.signer)
	if d.links, err = tracking.NewLinks(d.signer, a.cfg.PublicURL); err != nil {
		return nil, userErr(fmt.Errorf("public_url: %w", err))
	}
	d.links.AllowedHosts = a.cfg.LinkHosts
	comp := compose.NewComposer()
	comp.Channels = d.channels
	d.links.Channels = d.channels
	d.feedback = &feedback.Feedback{Store: d.store, Secret: d.secret, Campaigns: d.catalog, Composer: comp, Links: d.links, Now: a.now,
		Channels: d.channels}
	if d.policy, err = policy.New(a.cfg.Policy, d.store, d.secret, a.now, policy.WithChannels(d.channels)); err != nil {
		return nil, userErr(fmt.Errorf("policy: %w", err))
	}
	if n.queue {
		url := a.cfg.RedisURL
		if a.cfg.Embedded() {
			if d.redis, err = embedded.StartRedis(a.log); err != nil {
				return nil, err
			}
			url = d.redis.URL()
		}
		if d.redisOpt, err = queue.RedisOpt(url); err != nil {
			return nil, userErr(err)
		}
		d.client = queue.NewEnqueueClient(d.redisOpt)
	}
	if n.senders {
		if d.batcher, err = a.batcher(); err != nil {
			return nil, err
		}
		if err = a.attachSenders(d.channels, d.batcher); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// secret returns RELAIS_SECRET, or in embedded mode a key generated once
// and kept in <data_dir>/secret.
func (a *app) secret() ([]byte, error) {
	if a.cfg.Secret != "" {
		return []byte(a.cfg.Secret), nil
	}
	path := filepath.Join(a.cfg.DataDir, "secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(buf)
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write embedded secret: %w", err)
	}
	return []byte(s), nil
}

// planner returns a run.Planner on d.
func (a *app) planner(d *deps) *campaignrun.Planner {
	var q queue.Enqueuer
	if d.client != nil {
		q = d.client
	}
	p := &campaignrun.Planner{Store: d.store, Queue: q, Policy: d.policy, Log: a.log, Now: a.now, TaskRetention: a.cfg.TaskRetention,
		Channels: d.channels, Batch: a.cfg.Batch.Batching(), EphemeralQueue: a.cfg.Embedded()}
	if d.redisOpt != nil && !a.cfg.Embedded() {
		// Several processes share this Redis: one expands a run at a time.
		if d.lockClient == nil {
			d.lockClient = queue.Client(d.redisOpt)
		}
		p.Lock = queue.ExpandLock{C: d.lockClient}
	}
	return p
}

// worker returns the send handler on d.
func (a *app) worker(d *deps) *worker.Worker {
	comp := compose.NewComposer()
	comp.Channels = d.channels
	comp.MediaURL = func(sp *campaign.Spec, ref string) (string, error) {
		return twiliohook.MediaURL(d.secret, a.cfg.PublicURL, sp, ref)
	}
	w := &worker.Worker{Store: d.store, Campaigns: d.catalog, Channels: d.channels, Policy: d.policy,
		Queue: d.client, Composer: comp, Log: a.log, TaskRetention: a.cfg.TaskRetention,
		InFlightGrace: a.cfg.InFlightGrace, SendParallelism: a.cfg.Concurrency}
	if d.batcher != nil {
		w.Assembler = d.batcher
	}
	if d.links != nil {
		w.Links, w.Decorator, w.TrackOpens = d.links, d.links, d.policy.TrackOpens
	}
	w.Metrics = d.metrics
	w.Responses = d.feedback.Store
	w.OnPermanent = d.feedback.SuppressOnFailure
	if d.redisOpt != nil {
		if d.limiter == nil {
			d.limiter = queue.NewLimiter(queue.Client(d.redisOpt))
		}
		w.Limiter = d.limiter
		w.ChannelRates, _ = a.cfg.Rates() // checked when the configuration was loaded
		if d.inspector == nil {
			d.inspector = asynq.NewInspector(d.redisOpt)
		}
		w.Recording = queue.InspectorReviver{Inspector: d.inspector}.Recording
	}
	return w
}

// asynqServer returns a worker server on d's queue.
func (a *app) asynqServer(d *deps) *asynq.Server {
	cfg := asynq.Config{
		Concurrency: a.cfg.Concurrency,
		Queues:      queue.Weights(),
		// asynq looks at empty queues once a second by default; a
		// transactional send arriving on an idle queue would wait that long.
		TaskCheckInterval: 100 * time.Millisecond,
		// A send of a paused run is put back without counting a retry.
		IsFailure:      worker.IsFailure,
		RetryDelayFunc: worker.RetryDelayFrom(a.cfg.RetryBackoff),
		// Requeued sends (paused, rate-limited) come back through the
		// retry set, which asynq looks at every 5 s by default.
		DelayedTaskCheckInterval: 500 * time.Millisecond,
		ShutdownTimeout:          a.cfg.ShutdownTimeout,
		Logger:                   asynqLogger{a.log},
		LogLevel:                 asynq.WarnLevel,
	}
	// Marketing sends are grouped by run step and channel and handled in
	// batches (worker.HandleBatch).
	a.cfg.Batch.Batching().Server(&cfg)
	return asynq.NewServer(d.redisOpt, cfg)
}

// loadCampaign loads one campaign file (a user error when invalid) and
// registers it in d's catalog when d is given.
func (a *app) loadCampaign(path string, d *deps) (*campaign.Spec, error) {
	l := campaign.Loader{}
	if d != nil {
		l.Channels = d.channels
	} else {
		var err error
		if l, err = a.loader(); err != nil {
			return nil, err
		}
	}
	sp, err := l.Load(path)
	if err != nil {
		return nil, userErr(err)
	}
	if d != nil {
		d.catalog.Add(sp)
	}
	return sp, nil
}

// asynqLogger routes asynq's logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Warn(args ...any)  { l.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Error(args ...any) { l.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Fatal(args ...any) { l.l.Error(fmt.Sprint(args...), "component", "asynq") }
