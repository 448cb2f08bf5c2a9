package deploy

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/metrics"
)

// exported returns the metric names relais serves on /metrics: those of a
// Metrics that observed one of everything, plus the queue collector's
// (which needs Redis to report).
func exported(t *testing.T) map[string]bool {
	m := metrics.New()
	m.ObserveSend("email", "accepted", time.Millisecond)
	m.ObserveRefusal("no_consent")
	m.ObserveEvents("opened", 1)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	names := map[string]bool{"relais_queue_tasks": true, "relais_queue_latency_seconds": true, "up": true}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name := strings.Fields(f)[0]
			names[name] = true
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	if !names["relais_sends_total"] {
		t.Fatalf("metrics output lacks relais_sends_total:\n%s", rec.Body)
	}
	return names
}

var metricRef = regexp.MustCompile(`\b(relais_[a-z_]+|process_[a-z_]+)\b`)

// checkExpr fails t for a metric in expr that relais does not export.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	for _, m := range metricRef.FindAllString(expr, -1) {
		if !names[m] {
			t.Errorf("%s uses %s, which relais does not export", where, m)
		}
	}
}

// TestAlertRules checks that every alert parses, queries metrics relais
// exports and points at a runbook section that exists.
func TestAlertRules(t *testing.T) {
	names := exported(t)
	b, err := os.ReadFile(filepath.Join("observability", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	ops, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			checkExpr(t, "alert "+r.Alert, r.Expr, names)
			_, anchor, ok := strings.Cut(r.Annotations["runbook"], "#")
			if !ok || !strings.Contains(strings.ToLower(string(ops)), "### "+strings.ReplaceAll(anchor, "-", " ")) {
				t.Errorf("alert %s: runbook %q has no section in docs/operations.md", r.Alert, r.Annotations["runbook"])
			}
		}
	}
	if n == 0 {
		t.Fatal("no alert rules")
	}
}

// TestGrafanaDashboard checks that the dashboard is JSON and queries
// metrics relais exports.
func TestGrafanaDashboard(t *testing.T) {
	names := exported(t)
	b, err := os.ReadFile(filepath.Join("observability", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, names)
		}
	}
}
