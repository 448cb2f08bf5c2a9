package tracking

import (
	"bytes"
	"errors"
	"image/gif"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

// fixture is a handler over a real Batcher whose events land in a memSink.
type fixture struct {
	s     *Signer
	sink  *memSink
	b     *Batcher
	unsub *unsubs
	resp  *responses
	h     http.Handler
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{s: newSigner(t, "a-secret-of-at-least-16-bytes"), sink: &memSink{}, unsub: &unsubs{},
		now: time.Date(2027, 3, 20, 10, 0, 0, 0, time.UTC)}
	f.s.Now = func() time.Time { return f.now }
	f.b = NewBatcher(f.sink, 0, 0)
	t.Cleanup(func() { f.b.Close() })
	id := store.LedgerID(1, "s1", 77, "print")
	f.resp = &responses{codes: map[string]string{f.s.ResponseCode(id): id}}
	f.h = NewHandler(Deps{Signer: f.s, Events: f.b, Unsubscriber: f.unsub, Responses: f.resp,
		Viewer:     views{sampleClaims(PurposeView).LedgerID: "<html><body>Votre message</body></html>"},
		LandingURL: "https://dupont.example/merci?code={code}",
		Now:        func() time.Time { return f.now }})
	return f
}

// token signs claims issued an hour before the fixture's now, so the
// timing rule does not flag them.
func (f *fixture) token(p Purpose) string {
	c := sampleClaims(p)
	c.IssuedAt = f.now.Add(-time.Hour)
	return f.s.Sign(c)
}

func (f *fixture) do(t *testing.T, method, target, ua, body string, hdr map[string]string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Result()
}

func (f *fixture) events(t *testing.T) []Event {
	t.Helper()
	f.b.Flush()
	return f.sink.events()
}

func readBody(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPixelEndpoint(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		path        string
		ua          string
		wantEvent   bool
		wantMachine bool
	}{
		{"valid token, person", "/o/" + f.token(PurposeOpen), browserUA, true, false},
		{"valid token with .gif suffix", "/o/" + f.token(PurposeOpen) + ".gif", browserUA, true, false},
		{"apple privacy proxy", "/o/" + f.token(PurposeOpen), "Mozilla/5.0", true, true},
		{"google image proxy", "/o/" + f.token(PurposeOpen), "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", true, true},
		{"yahoo proxy", "/o/" + f.token(PurposeOpen), "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", true, true},
		{"open seconds after the send", "/o/" + f.s.Sign(sampleClaims(PurposeOpen)), browserUA, true, true},
		{"invalid token", "/o/not-a-token", browserUA, false, false},
		{"click token on the pixel", "/o/" + f.token(PurposeClick), browserUA, false, false},
		{"tampered token", "/o/" + flipLast(f.token(PurposeOpen)), browserUA, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "open seconds after the send" {
				f.now = sampleClaims(PurposeOpen).IssuedAt.Add(2 * time.Second)
				defer func() { f.now = time.Date(2027, 3, 20, 10, 0, 0, 0, time.UTC) }()
			}
			before := len(f.events(t))
			res := f.do(t, "GET", tc.path, tc.ua, "", nil)
			body := readBody(t, res)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" || len(body) != 43 {
				t.Fatalf("status %d, type %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store, no-cache, must-revalidate, private" {
				t.Fatalf("Cache-Control %q", cc)
			}
			img, err := gif.Decode(strings.NewReader(body))
			if err != nil || img.Bounds().Dx() != 1 || img.Bounds().Dy() != 1 {
				t.Fatalf("not a 1x1 GIF: %v", err)
			}
			evs := f.events(t)[before:]
			if !tc.wantEvent {
				if len(evs) != 0 {
					t.Fatalf("recorded %+v for an invalid token", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].Type != EventOpened || evs[0].LedgerID != sampleClaims(PurposeOpen).LedgerID || evs[0].Machine != tc.wantMachine {
				t.Fatalf("events %+v, want one opened with machine=%v", evs, tc.wantMachine)
			}
		})
	}
}

func flipLast(tok string) string {
	b := []byte(tok)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}

func TestClick(t *testing.T) {
	f := newFixture(t)
	signedURL := sampleClaims(PurposeClick).URL
	evil := sampleClaims(PurposeClick)
	evil.URL = "javascript:alert(1)"
	tests := []struct {
		name     string
		path     string
		ua       string
		wantCode int
		wantLoc  string
		machine  bool
	}{
		{"redirects to the signed URL", "/c/" + f.token(PurposeClick), browserUA, 302, signedURL, false},
		{"link scanner flagged", "/c/" + f.token(PurposeClick), "Mozilla/5.0 (compatible; Proofpoint URL Defense)", 302, signedURL, true},
		{"invalid token", "/c/xyz", browserUA, 400, "", false},
		{"open redirect attempt in query", "/c/" + f.token(PurposeClick) + "?url=https://evil.example", browserUA, 302, signedURL, false},
		{"open redirect attempt as token", "/c/" + url.PathEscape("https://evil.example"), browserUA, 400, "", false},
		{"open redirect attempt with //", "/c//evil.example", browserUA, 0, "", false},
		{"tampered token", "/c/" + flipLast(f.token(PurposeClick)), browserUA, 400, "", false},
		{"unsubscribe token as click", "/c/" + f.token(PurposeUnsubscribe), browserUA, 400, "", false},
		{"signed non-http URL", "/c/" + f.s.Sign(evil), browserUA, 400, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.events(t))
			res := f.do(t, "GET", tc.path, tc.ua, "", nil)
			loc := res.Header.Get("Location")
			if tc.wantCode == 0 {
				// The mux cleans the path; whatever it answers, it must not
				// send the visitor off-site.
				if loc != "" && !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
					t.Fatalf("redirected to %q", loc)
				}
				return
			}
			if res.StatusCode != tc.wantCode || loc != tc.wantLoc {
				t.Fatalf("status %d location %q, want %d %q", res.StatusCode, loc, tc.wantCode, tc.wantLoc)
			}
			evs := f.events(t)[before:]
			if tc.wantCode != 302 {
				if len(evs) != 0 || !strings.Contains(readBody(t, res), "<h1>") {
					t.Fatalf("invalid click recorded %+v or no page", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].Type != EventClicked || evs[0].URL != signedURL || evs[0].Machine != tc.machine {
				t.Fatalf("events %+v", evs)
			}
		})
	}
}

func TestUnsubscribe(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		tokenOf    Purpose
		body       string
		hdr        map[string]string
		wantStatus int
		wantCalls  []string
		wantText   string
	}{
		{"GET shows the form and changes nothing", "GET", PurposeUnsubscribe, "", nil, 200, nil, `<form method="post"`},
		{"GET in English", "GET", PurposeUnsubscribe, "", map[string]string{"Accept-Language": "en-GB,en;q=0.9"}, 200, nil, "Unsubscribe me"},
		{"GET in French by default", "GET", PurposeUnsubscribe, "", nil, 200, nil, "Me désabonner"},
		{"HEAD changes nothing", "HEAD", PurposeUnsubscribe, "", nil, 200, nil, ""},
		{"POST from the form", "POST", PurposeUnsubscribe, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, []string{"page"}, "Désabonnement confirmé"},
		{"RFC 8058 one-click", "POST", PurposeUnsubscribe, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, []string{"one-click"}, ""},
		{"one-click as multipart", "POST", PurposeUnsubscribe, "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 200, []string{"one-click"}, ""},
		{"GET with an open token", "GET", PurposeOpen, "", nil, 404, nil, "Lien invalide"},
		{"POST with an open token", "POST", PurposeOpen, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 404, nil, "Lien invalide"},
		{"malformed token", "GET", 0, "", nil, 400, nil, "Lien invalide"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tok := "bad!token"
			if tc.tokenOf != 0 {
				tok = f.token(tc.tokenOf)
			}
			res := f.do(t, tc.method, "/u/"+tok, browserUA, tc.body, tc.hdr)
			body := readBody(t, res)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.wantStatus, body)
			}
			if !strings.Contains(body, tc.wantText) {
				t.Fatalf("body lacks %q:\n%s", tc.wantText, body)
			}
			f.unsub.mu.Lock()
			calls := f.unsub.calls
			f.unsub.mu.Unlock()
			if len(calls) != len(tc.wantCalls) {
				t.Fatalf("Unsubscribe calls %q, want sources %q", calls, tc.wantCalls)
			}
			for i, src := range tc.wantCalls {
				if calls[i] != sampleClaims(PurposeUnsubscribe).LedgerID+" "+src {
					t.Fatalf("call %q", calls[i])
				}
			}
			evs := f.events(t)
			if len(evs) != len(tc.wantCalls) {
				t.Fatalf("events %+v", evs)
			}
			for _, e := range evs {
				if e.Type != EventUnsubscribed {
					t.Fatalf("event %+v", e)
				}
			}
		})
	}
}

func TestUnsubscribeFailureAnswers(t *testing.T) {
	f := newFixture(t)
	f.unsub.err = errors.New("db down")
	res := f.do(t, "POST", "/u/"+f.token(PurposeUnsubscribe), browserUA, "", nil)
	body := readBody(t, res)
	if res.StatusCode != 503 || !strings.Contains(body, "Réessayez") {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if evs := f.events(t); len(evs) != 0 {
		t.Fatalf("failed unsubscribe recorded %+v", evs)
	}
}

func TestViewAndPURL(t *testing.T) {
	f := newFixture(t)
	printID := store.LedgerID(1, "s1", 77, "print")
	code := f.s.ResponseCode(printID)
	other := sampleClaims(PurposeView)
	other.LedgerID = store.LedgerID(9, "x", 9, "email")
	other.IssuedAt = f.now.Add(-time.Hour)
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantIn     string // body or Location
		wantEvent  string
	}{
		{"view renders the message", "/v/" + f.token(PurposeView), 200, "Votre message", EventViewed},
		{"view of a forgotten message", "/v/" + f.s.Sign(other), 404, "Message indisponible", ""},
		{"view with a click token", "/v/" + f.token(PurposeClick), 404, "Lien invalide", ""},
		{"personal URL records and redirects", "/r/" + code, 302, "https://dupont.example/merci?code=" + code, ""},
		{"personal URL typed in lower case with a hyphen", "/r/" + strings.ToLower(code[:5]+"-"+code[5:]), 302, "https://dupont.example/merci?code=" + code, ""},
		{"unknown code still lands", "/r/ZZZZZZZZZZ", 302, "https://dupont.example/merci?code=ZZZZZZZZZZ", ""},
		{"malformed code lands without code", "/r/%3Cscript%3E", 302, "https://dupont.example/merci?code=", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.events(t))
			res := f.do(t, "GET", tc.path, browserUA, "", nil)
			body := readBody(t, res)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			got := body
			if res.StatusCode == 302 {
				got = res.Header.Get("Location")
				if got != tc.wantIn {
					t.Fatalf("Location %q, want %q", got, tc.wantIn)
				}
			} else if !strings.Contains(got, tc.wantIn) {
				t.Fatalf("body lacks %q: %s", tc.wantIn, got)
			}
			if res.StatusCode != 302 && (!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
				res.Header.Get("X-Content-Type-Options") != "nosniff") {
				t.Errorf("HTML page without CSP or nosniff: %v", res.Header)
			}
			evs := f.events(t)[before:]
			if (tc.wantEvent == "") != (len(evs) == 0) || (len(evs) > 0 && evs[0].Type != tc.wantEvent) {
				t.Fatalf("events %+v, want %q", evs, tc.wantEvent)
			}
		})
	}
	f.resp.mu.Lock()
	defer f.resp.mu.Unlock()
	if len(f.resp.got) != 2 || f.resp.got[0] != printID || f.resp.got[1] != printID {
		t.Fatalf("responses recorded %q, want two on %s", f.resp.got, printID)
	}
}

func TestMachineUA(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want bool
	}{
		{"empty", "", true},
		{"apple mpp", "Mozilla/5.0", true},
		{"google proxy", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", true},
		{"curl", "curl/8.5.0", true},
		{"chrome", browserUA, false},
		{"apple mail", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", false},
		{"outlook", "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MachineUA(tc.ua); got != tc.want {
				t.Fatalf("MachineUA(%q) = %v", tc.ua, got)
			}
		})
	}
}

func TestPixelBytes(t *testing.T) {
	if len(pixelGIF) != 43 || !bytes.HasPrefix(pixelGIF, []byte("GIF89a")) {
		t.Fatalf("pixel is %d bytes", len(pixelGIF))
	}
}
