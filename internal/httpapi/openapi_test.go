package httpapi_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/httpapi"
)

// TestOpenAPIRoutes checks that every route of the server is in
// docs/openapi.yaml and every operation of the document is served.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := openAPI(t)
	served := map[string]bool{}
	for _, r := range httpapi.Routes() {
		served[r.Method+" "+r.Path] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from docs/openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("documented operations the server does not serve: %v", extra)
	}
	if len(served) == 0 {
		t.Fatal("the server lists no routes")
	}
}

// TestMounts checks that the handlers given in Deps are mounted at their
// paths, outside API authentication, and that nil ones are not.
func TestMounts(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(name)) })
	}
	e := newEnv(t, "sqlite", func(d *httpapi.Deps) {
		d.Tracking, d.TwilioStatus, d.Dashboard = named("tracking"), named("twilio-status"), named("ui")
		d.Metrics, d.Healthz = named("metrics"), named("healthz")
	})
	tests := []struct {
		name, path, want string
		status           int
	}{
		{"open pixel", "/o/abc", "tracking", 200},
		{"click", "/c/abc", "tracking", 200},
		{"personal URL", "/r/ABC", "tracking", 200},
		{"twilio status", "/webhooks/twilio/status", "twilio-status", 200},
		{"dashboard", "/ui/campaigns", "ui", 200},
		{"metrics", "/metrics", "metrics", 200},
		{"healthz", "/healthz", "healthz", 200},
		{"nil readyz", "/readyz", "", 404},
		{"nil inbound", "/webhooks/twilio/inbound", "", 404},
		{"unknown API route", "/api/v1/nothing", "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Get(e.url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			buf := new(strings.Builder)
			if _, err := io.Copy(buf, res.Body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status || tc.want != "" && buf.String() != tc.want {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, res.StatusCode, buf.String(), tc.status, tc.want)
			}
		})
	}
}
