package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/httpapi"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/tracking"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// backends are the stores every API test runs on.
var backends = []string{"sqlite", "postgres"}

// env is one API server on a real store and a real redis-server.
type env struct {
	t      *testing.T
	url    string
	store  store.Store
	api    store.APIStore
	insp   *asynq.Inspector
	signer *tracking.Signer
	keys   map[string]string // scope → a key with only that scope
	srv    *httpapi.Server
}

func openStore(t *testing.T, backend string) store.Store {
	t.Helper()
	var (
		s   store.Store
		err error
	)
	switch backend {
	case "sqlite":
		s, err = sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "relais.db"))
	case "postgres":
		s, err = sqlstore.OpenPostgres(t.Context(), testenv.PostgresURL(t))
	}
	if err != nil {
		t.Fatalf("open %s store: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func loadCampaign(t *testing.T, name string) *campaign.Spec {
	t.Helper()
	sp, err := campaign.Load(filepath.Join("testdata", "campaigns", name+".yaml"))
	if err != nil {
		t.Fatalf("load campaign %s: %v", name, err)
	}
	return sp
}

// newEnv starts the API on backend with the test campaigns; opt adjusts
// the Deps before the server is made.
func newEnv(t *testing.T, backend string, opt func(*httpapi.Deps)) *env {
	t.Helper()
	st := openStore(t, backend)
	_, redisURL := testenv.StartRedis(t)
	ropt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { client.Close() })
	insp := asynq.NewInspector(ropt)
	t.Cleanup(func() { insp.Close() })
	eng, err := policy.New(policy.DefaultRules(), st.(policy.Lookup), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(filepath.Join("testdata", "campaigns"))
	cat.Add(loadCampaign(t, "confirm"))
	cat.Add(loadCampaign(t, "news"))
	cat.Add(loadCampaign(t, "notice"))
	signer, err := tracking.SignerFromSecrets(string(secret))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, api: st.(store.APIStore), insp: insp, signer: signer, keys: map[string]string{}}
	d := httpapi.Deps{
		Store: st, API: e.api, Campaigns: cat,
		Planner: &run.Planner{Store: st, Queue: client, Policy: eng},
		Signer:  signer,
	}
	if rs, ok := st.(store.RightsStore); ok {
		r := httpapi.StoreRights{Store: st, Rights: rs, Secret: secret}
		d.Exporter, d.Forgetter = r, r
	}
	if opt != nil {
		opt(&d)
	}
	e.srv = httpapi.NewServer(d)
	hs := httptest.NewServer(e.srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	for _, sc := range apikey.AllScopes {
		e.keys[sc] = e.newKey(sc)
	}
	return e
}

func (e *env) newKey(scopes ...string) string {
	e.t.Helper()
	key, rec, err := apikey.New("test", scopes, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.api.CreateAPIKey(e.t.Context(), rec); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// req is one API call.
type req struct {
	method, path string
	key          string            // bearer key ("" for none)
	header       map[string]string // extra headers
	body         string
	contentType  string // default application/json when body is set
	// invalid marks a request the OpenAPI document rejects on purpose
	// (malformed body…): only the response is checked against it.
	invalid bool
}

// resp is an API answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %q: %v", r.status, r.body, err)
	}
}

// apiError decodes an error body.
func (r resp) apiError(t *testing.T) httpapi.Error {
	t.Helper()
	var b struct{ Error httpapi.Error }
	r.json(t, &b)
	return b.Error
}

// do sends rq and checks the exchange against docs/openapi.yaml.
func (e *env) do(rq req) resp {
	e.t.Helper()
	r, err := http.NewRequestWithContext(e.t.Context(), rq.method, e.url+rq.path, strings.NewReader(rq.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if rq.body != "" {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if rq.key != "" {
		r.Header.Set("Authorization", "Bearer "+rq.key)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := resp{status: res.StatusCode, header: res.Header, body: b}
	checkOpenAPI(e.t, rq, out)
	return out
}

var (
	docOnce   sync.Once
	doc       *openapi3.T
	docRouter routers.Router
	docErr    error
)

func openAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	docOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
		doc, docErr = openapi3.NewLoader().LoadFromFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
		if docErr == nil {
			docErr = doc.Validate(context.Background())
		}
		if docErr == nil {
			docRouter, docErr = legacy.NewRouter(doc)
		}
	})
	if docErr != nil {
		t.Fatalf("docs/openapi.yaml: %v", docErr)
	}
	return doc, docRouter
}

// checkOpenAPI validates a request (unless marked invalid) and its
// response against the document.
func checkOpenAPI(t *testing.T, rq req, out resp) {
	t.Helper()
	_, router := openAPI(t)
	r, _ := http.NewRequest(rq.method, "http://127.0.0.1:8080"+rq.path, strings.NewReader(rq.body))
	if rq.body != "" {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	if rq.key != "" {
		r.Header.Set("Authorization", "Bearer "+rq.key)
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		t.Fatalf("%s %s is not in docs/openapi.yaml: %v", rq.method, rq.path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
	if !rq.invalid && out.status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("request %s %s does not match docs/openapi.yaml: %v", rq.method, rq.path, err)
		}
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: out.status, Header: out.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	rin.SetBodyBytes(out.body)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("response %d %s to %s %s does not match docs/openapi.yaml: %v", out.status, bytes.TrimSpace(out.body), rq.method, rq.path, err)
	}
}

// queued counts the tasks on a queue.
func (e *env) queued(q string) int {
	e.t.Helper()
	info, err := e.insp.GetQueueInfo(q)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "not found") {
			return 0
		}
		e.t.Fatalf("queue %s: %v", q, err)
	}
	return info.Size
}

// ledgerRows returns every ledger row of the run.
func (e *env) ledgerRows(runID int64) []store.LedgerRow {
	e.t.Helper()
	rows, err := e.store.ListLedger(e.t.Context(), store.LedgerFilter{RunID: runID})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) srvNow() time.Time { return time.Now() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
