// Package metrics exposes relais' Prometheus metrics at /metrics: sends
// and refusals counted by the worker, provider latency, tracked events,
// and the depth of the asynq queues read from Redis at scrape time.
//
// Nothing is registered in Prometheus' global registry: each Metrics owns
// its registry, so tests and several servers in one process do not
// collide. A nil *Metrics ignores every observation, so code paths that
// run without metrics (the CLI, tests) need no checks.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Send outcomes for ObserveSend, matching the ledger's terminal states
// plus "retry" (a temporary failure the queue will retry).
const (
	OutcomeAccepted  = "accepted"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
	OutcomeRetry     = "retry"
	OutcomeAmbiguous = "ambiguous"
	OutcomeDeferred  = "deferred"
	// OutcomePaused: the provider refused the account; the channel
	// paused and the message waits.
	OutcomePaused = "paused"
)

// Metrics holds relais' collectors and their registry. Safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	sends    *prometheus.CounterVec
	refusals *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   *prometheus.CounterVec
}

// New returns Metrics with the relais counters and the Go runtime and
// process collectors registered in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "relais", Name: "sends_total",
			Help: "Send attempts by channel and outcome (accepted, refused, failed, retry, ambiguous, deferred, paused)."},
			[]string{"channel", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "relais", Name: "refusals_total",
			Help: "Sends refused by policy or input, by reason (no_consent, opted_out, suppressed, …)."},
			[]string{"reason"}),
		// Buckets from 5 ms (a local SMTP relay) to 30 s (a provider
		// timing out), where email and Twilio latencies actually fall.
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "relais", Name: "provider_latency_seconds",
			Help:    "Duration of the provider call (SMTP transaction, Twilio request, letter layout) by channel.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"channel"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "relais", Name: "events_total",
			Help: "Tracked events written to the store, by type (opened, clicked, unsubscribed, …)."},
			[]string{"type"}),
	}
	m.reg.MustRegister(m.sends, m.refusals, m.latency, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveSend counts one send attempt on channel with outcome (an
// Outcome* constant) and, when d > 0, records the provider call's
// duration. The worker calls it once per attempt.
func (m *Metrics) ObserveSend(channel, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.sends.WithLabelValues(channel, outcome).Inc()
	if d > 0 {
		m.latency.WithLabelValues(channel).Observe(d.Seconds())
	}
}

// ObserveRefusal counts one refusal with its reason (policy reasons are a
// small fixed set, so the label stays bounded).
func (m *Metrics) ObserveRefusal(reason string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(reason).Inc()
}

// ObserveEvents counts n tracked events of type t; it fits
// events.Sink.Observe.
func (m *Metrics) ObserveEvents(t string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.events.WithLabelValues(t).Add(float64(n))
}

// Register adds collectors (the tracking batcher's counters, for one) to
// the registry; a collector registered twice is an error.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Registry returns the registry, for callers that gather directly.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format. A
// collector error (Redis unreachable for the queue depth) is reported in
// the response rather than failing the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// QueueInspector is the part of *asynq.Inspector the queue collector
// uses.
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// WatchQueues registers a collector that reads the size of each queue per
// task state from Redis on every scrape (so the gauge is never stale and
// nothing polls between scrapes). A queue asynq has not seen yet reports
// zeros. Call it once.
func (m *Metrics) WatchQueues(insp QueueInspector, queues ...string) error {
	return m.reg.Register(&queueCollector{insp: insp, queues: queues})
}

var queueDepth = prometheus.NewDesc("relais_queue_tasks", "Tasks in an asynq queue by state (pending, active, scheduled, retry, archived).",
	[]string{"queue", "state"}, nil)

var queueLatency = prometheus.NewDesc("relais_queue_latency_seconds", "Age of the oldest pending task of an asynq queue.",
	[]string{"queue"}, nil)

type queueCollector struct {
	insp   QueueInspector
	queues []string
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queueLatency
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	// asynq's "queue not found" error is internal and cannot be matched,
	// so the known queues are listed first.
	known, err := c.insp.Queues()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepth, err)
		return
	}
	for _, q := range c.queues {
		info := &asynq.QueueInfo{}
		if slices.Contains(known, q) {
			info, err = c.insp.GetQueueInfo(q)
		}
		if err != nil {
			ch <- prometheus.NewInvalidMetric(queueDepth, err)
			continue
		}
		for _, s := range []struct {
			state string
			n     int
		}{{"pending", info.Pending}, {"active", info.Active}, {"scheduled", info.Scheduled},
			{"retry", info.Retry}, {"archived", info.Archived}} {
			ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(s.n), q, s.state)
		}
		ch <- prometheus.MustNewConstMetric(queueLatency, prometheus.GaugeValue, info.Latency.Seconds(), q)
	}
}

// PausedChannels lists the channels paused because their provider
// refused the account, by name (store.ChannelControl's ChannelPauses,
// reduced to names).
type PausedChannels func(ctx context.Context) ([]string, error)

// WatchChannels registers a collector that reads the paused channels on
// every scrape and reports relais_channel_paused 1 or 0 for each of
// channels (a paused channel not in the list is reported too). Call it
// once.
func (m *Metrics) WatchChannels(channels []string, paused PausedChannels) error {
	return m.reg.Register(&channelCollector{channels: channels, paused: paused})
}

var channelPaused = prometheus.NewDesc("relais_channel_paused",
	"1 while a channel is paused because its provider refused the account or the sender (relais resume-channel CHANNEL), else 0.",
	[]string{"channel"}, nil)

type channelCollector struct {
	channels []string
	paused   PausedChannels
}

func (c *channelCollector) Describe(ch chan<- *prometheus.Desc) { ch <- channelPaused }

func (c *channelCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := c.paused(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(channelPaused, err)
		return
	}
	all := slices.Clone(c.channels)
	for _, n := range names {
		if !slices.Contains(all, n) {
			all = append(all, n)
		}
	}
	for _, n := range all {
		v := 0.0
		if slices.Contains(names, n) {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(channelPaused, prometheus.GaugeValue, v, n)
	}
}
