package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/httpapi"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	revoked := e.newKey("send")
	id, _ := apikey.ID(revoked)
	if err := e.api.RevokeAPIKey(t.Context(), id, e.srvNow()); err != nil {
		t.Fatal(err)
	}
	unknown, _, _ := apikey.New("never stored", []string{"send"}, e.srvNow())
	tests := []struct {
		name     string
		key      string
		raw      string // Authorization header as is
		want     int
		wantCode string
	}{
		{"no token", "", "", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"not bearer", "", "Basic dXNlcjpwYXNz", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"garbage token", "", "Bearer hello", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"unknown key", unknown, "", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"revoked key", revoked, "", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"wrong scope", e.keys["contacts"], "", http.StatusForbidden, httpapi.CodeForbidden},
		{"right scope", e.keys["send"], "", http.StatusAccepted, ""},
		{"admin", e.keys["admin"], "", http.StatusAccepted, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rq := sendReq(tc.key, "auth-"+strconv.Itoa(i), sendBody)
			if tc.raw != "" {
				rq.header["Authorization"] = tc.raw
			}
			r := e.do(rq)
			if r.status != tc.want {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.wantCode != "" {
				if got := r.apiError(t); got.Code != tc.wantCode {
					t.Errorf("error code = %q, want %q", got.Code, tc.wantCode)
				}
			}
			if tc.want == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, "sqlite", func(d *httpapi.Deps) { d.Rate, d.Burst = 0.001, 2 })
	var got []int
	for range 3 {
		got = append(got, e.do(req{method: "GET", path: "/api/v1/runs/999", key: e.keys["runs"]}).status)
	}
	if got[0] != 404 || got[1] != 404 || got[2] != http.StatusTooManyRequests {
		t.Fatalf("statuses = %v, want 404 404 429", got)
	}
	r := e.do(req{method: "GET", path: "/api/v1/runs/999", key: e.keys["runs"]})
	if r.header.Get("Retry-After") == "" || r.apiError(t).Code != httpapi.CodeRateLimited {
		t.Errorf("429 = %v %s, want Retry-After and code rate_limited", r.header, r.body)
	}
	// Buckets are per key: another key is not limited.
	if s := e.do(req{method: "GET", path: "/api/v1/runs/999", key: e.keys["admin"]}).status; s != 404 {
		t.Errorf("another key got %d, want 404", s)
	}
}
