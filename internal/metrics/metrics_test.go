package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/metrics"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, b)
	}
	return string(b)
}

func TestScrape(t *testing.T) {
	_, url := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(url)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	defer client.Close()
	for i := range 3 {
		if _, err := client.Enqueue(asynq.NewTask("send", []byte{byte(i)}), asynq.Queue(queue.Marketing)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Enqueue(asynq.NewTask("send", nil), asynq.Queue(queue.Transactional), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()

	m := metrics.New()
	if err := m.WatchQueues(insp, queue.Transactional, queue.Marketing, queue.Maintenance); err != nil {
		t.Fatal(err)
	}
	m.ObserveSend("email", metrics.OutcomeAccepted, 20*time.Millisecond)
	m.ObserveSend("email", metrics.OutcomeAccepted, 40*time.Millisecond)
	m.ObserveSend("sms", metrics.OutcomeRetry, 0)
	m.ObserveRefusal("no_consent")
	m.ObserveEvents("opened", 5)
	m.ObserveEvents("opened", 0) // ignored
	var nilM *metrics.Metrics
	nilM.ObserveSend("email", metrics.OutcomeAccepted, time.Second) // a nil Metrics is a no-op

	out := scrape(t, m.Handler())
	tests := []struct {
		name, line string
	}{
		{"sends", `relais_sends_total{channel="email",outcome="accepted"} 2`},
		{"retry without latency", `relais_sends_total{channel="sms",outcome="retry"} 1`},
		{"latency count", `relais_provider_latency_seconds_count{channel="email"} 2`},
		{"latency bucket", `relais_provider_latency_seconds_bucket{channel="email",le="0.025"} 1`},
		{"refusals", `relais_refusals_total{reason="no_consent"} 1`},
		{"events", `relais_events_total{type="opened"} 5`},
		{"marketing pending", `relais_queue_tasks{queue="marketing",state="pending"} 3`},
		{"transactional scheduled", `relais_queue_tasks{queue="transactional",state="scheduled"} 1`},
		{"transactional pending", `relais_queue_tasks{queue="transactional",state="pending"} 0`},
		{"unused queue reports zero", `relais_queue_tasks{queue="maintenance",state="pending"} 0`},
		{"runtime collectors", `go_goroutines `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(out, tc.line) {
				t.Errorf("scrape lacks %q", tc.line)
			}
		})
	}
	if strings.Contains(out, `channel="sms"`) && strings.Contains(out, `relais_provider_latency_seconds_count{channel="sms"}`) {
		t.Errorf("a zero duration was recorded as latency")
	}

	// The gauge is read at scrape time: new tasks show on the next scrape.
	if _, err := client.Enqueue(asynq.NewTask("send", []byte("x")), asynq.Queue(queue.Marketing)); err != nil {
		t.Fatal(err)
	}
	if out := scrape(t, m.Handler()); !strings.Contains(out, `relais_queue_tasks{queue="marketing",state="pending"} 4`) {
		t.Errorf("queue depth not refreshed on scrape")
	}
}

func TestRegisterTwice(t *testing.T) {
	m := metrics.New()
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
	defer insp.Close()
	if err := m.WatchQueues(insp, "q"); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchQueues(insp, "q"); err == nil {
		t.Error("second WatchQueues registered a duplicate collector")
	}
	// Redis unreachable: the scrape still answers with the other metrics.
	out := scrape(t, m.Handler())
	if !strings.Contains(out, "go_goroutines") {
		t.Errorf("scrape failed entirely when Redis is down:\n%.300s", out)
	}
}

// TestChannelPaused: the gauge follows what the lister says at each
// scrape, with a 0 for every known channel that is not paused.
func TestChannelPaused(t *testing.T) {
	m := metrics.New()
	var paused []string
	if err := m.WatchChannels([]string{"email", "sms"}, func(context.Context) ([]string, error) { return paused, nil }); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, m.Handler())
	for _, want := range []string{`relais_channel_paused{channel="email"} 0`, `relais_channel_paused{channel="sms"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	paused = []string{"sms"}
	body = scrape(t, m.Handler())
	for _, want := range []string{`relais_channel_paused{channel="email"} 0`, `relais_channel_paused{channel="sms"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
