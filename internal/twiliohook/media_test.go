package twiliohook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/twiliohook"
)

// pngHeader is the start of a PNG file (enough for content sniffing).
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

// mediaCampaign writes a campaign with an MMS step whose media are a
// campaign file and a remote URL, loads it and returns it with the catalog
// holding it.
func mediaCampaign(t *testing.T, photo []byte) (*campaign.Spec, *catalog.Catalog) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"campaigns/soldes.yaml": `id: soldes
purpose: marketing
channels: [mms]
sender:
  sms: MaisonDupont
steps:
  - id: photo
    mms:
      text: templates/soldes/mms.txt
      media: [templates/soldes/vitrine.png, templates/soldes/catalogue]
`,
		"templates/soldes/mms.txt":     "Les soldes commencent ! STOP au 36180",
		"templates/soldes/vitrine.png": string(photo),
		"templates/soldes/catalogue":   "%PDF-1.4 catalogue",
		"templates/soldes/secret.txt":  "not media",
	}
	for p, s := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := campaign.Load(filepath.Join(root, "campaigns", "soldes.yaml"))
	if err != nil {
		t.Fatalf("campaign.Load: %v", err)
	}
	cat := catalog.New(filepath.Join(root, "campaigns"))
	cat.Add(sp)
	return sp, cat
}

func TestMediaURLAndHandler(t *testing.T) {
	sp, cat := mediaCampaign(t, pngHeader)
	srv := httptest.NewServer(twiliohook.Routes("token", "http://unused", nil, twiliohook.MediaHandler(secret, cat)))
	t.Cleanup(srv.Close)

	photoURL, err := twiliohook.MediaURL(secret, srv.URL+"/", sp, "templates/soldes/vitrine.png")
	if err != nil {
		t.Fatalf("MediaURL: %v", err)
	}
	if !strings.HasPrefix(photoURL, srv.URL+twiliohook.MediaPath) || strings.Contains(photoURL, "vitrine") {
		t.Fatalf("media URL %s: want %s/media/<opaque token>", photoURL, srv.URL)
	}
	pdfURL, err := twiliohook.MediaURL(secret, srv.URL, sp, "templates/soldes/catalogue")
	if err != nil {
		t.Fatalf("MediaURL: %v", err)
	}
	otherKey, err := twiliohook.MediaURL([]byte("another-secret-0123456789"), srv.URL, sp, "templates/soldes/vitrine.png")
	if err != nil {
		t.Fatalf("MediaURL: %v", err)
	}
	token := strings.TrimPrefix(photoURL, srv.URL+twiliohook.MediaPath)
	tampered := srv.URL + twiliohook.MediaPath + flipFirstChar(token)

	tests := []struct {
		name     string
		method   string
		url      string
		wantCode int
		wantType string
		wantBody []byte
	}{
		{"campaign image", http.MethodGet, photoURL, http.StatusOK, "image/png", pngHeader},
		{"head", http.MethodHead, photoURL, http.StatusOK, "image/png", nil},
		{"no extension: sniffed", http.MethodGet, pdfURL, http.StatusOK, "application/pdf", []byte("%PDF-1.4 catalogue")},
		{"tampered token", http.MethodGet, tampered, http.StatusNotFound, "", nil},
		{"signed with another secret", http.MethodGet, otherKey, http.StatusNotFound, "", nil},
		{"not a token", http.MethodGet, srv.URL + twiliohook.MediaPath + "templates%2Fsoldes%2Fsecret.txt", http.StatusNotFound, "", nil},
		{"post", http.MethodPost, photoURL, http.StatusMethodNotAllowed, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if tc.wantCode != http.StatusOK {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tc.wantType)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff header")
			}
			if tc.method == http.MethodGet && !bytes.Equal(body, tc.wantBody) {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestMediaURLRefusals(t *testing.T) {
	sp, _ := mediaCampaign(t, pngHeader)
	tests := []struct {
		name      string
		publicURL string
		ref       string
		want      string // "" for an error
	}{
		{"remote URL kept", "https://relais.example", "https://cdn.example/a.jpg", "https://cdn.example/a.jpg"},
		{"template is not media", "https://relais.example", "templates/soldes/mms.txt", ""},
		{"file outside the campaign", "https://relais.example", "templates/soldes/secret.txt", ""},
		{"no public URL", "", "templates/soldes/vitrine.png", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := twiliohook.MediaURL(secret, tc.publicURL, sp, tc.ref)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("MediaURL = %s, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("MediaURL = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	urls, err := twiliohook.MediaURLs(secret, "https://relais.example", sp, sp.Step("photo").Content["mms"].(*sms.Content).Media)
	if err != nil || len(urls) != 2 || !strings.HasPrefix(urls[0], "https://relais.example/media/") {
		t.Errorf("MediaURLs = %v, %v", urls, err)
	}
}

// A token keeps serving the version it was made for after the campaign
// file changes (a run planned before the edit still sends its media).
func TestMediaServesItsVersion(t *testing.T) {
	old, cat := mediaCampaign(t, pngHeader)
	u, err := twiliohook.MediaURL(secret, "http://127.0.0.1", old, "templates/soldes/vitrine.png")
	if err != nil {
		t.Fatal(err)
	}
	newer, _ := mediaCampaign(t, append(append([]byte(nil), pngHeader...), "v2"...))
	cat.Add(newer)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, strings.TrimPrefix(u, "http://127.0.0.1"), nil)
	twiliohook.Routes("t", "http://127.0.0.1", nil, twiliohook.MediaHandler(secret, cat)).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pngHeader) {
		t.Errorf("got %d %q, want the old version's image", rec.Code, rec.Body.Bytes())
	}
}

// flipFirstChar changes the first character of a token (its payload: the
// last one may only carry base64 padding bits).
func flipFirstChar(s string) string {
	repl := "A"
	if s[0] == 'A' {
		repl = "B"
	}
	return repl + s[1:]
}
