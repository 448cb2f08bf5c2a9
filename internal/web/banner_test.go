package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/web"
)

// TestPausedChannelBanner: a channel paused by an account-level error is
// a banner on both dashboard pages, naming the setting and the command;
// once resumed, the banner is gone.
func TestPausedChannelBanner(t *testing.T) {
	st := seededStore(t)
	ctx := context.Background()
	if _, err := st.PauseChannel(ctx, store.ChannelPause{Channel: "email", Setting: "RELAIS_SMTP_URL (smtp_url)",
		Error: "email: auth: smtp 535 5.7.8: auth (account refused)", PausedAt: time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(t, web.Deps{Store: st, Catalog: exampleCatalog(t), PausedChannels: st.ChannelPauses}))
	defer srv.Close()
	c := client(t)
	login(t, c, srv.URL, testKey, "")
	for _, p := range []string{"/ui/", "/ui/campaigns/printemps-2027"} {
		resp, body := get(t, c, srv.URL+p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		if n := strings.Count(body, `class="banner"`); n != 1 {
			t.Errorf("GET %s: %d banners, want 1", p, n)
		}
		for _, want := range []string{`id="paused-email"`, "Channel email is paused", "smtp 535", "RELAIS_SMTP_URL (smtp_url)", "relais resume-channel email"} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: banner lacks %q", p, want)
			}
		}
	}
	if _, err := st.ResumeChannel(ctx, "email"); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, c, srv.URL+"/ui/"); strings.Contains(body, `class="banner"`) {
		t.Error("banner still shown after the channel was resumed")
	}
}
