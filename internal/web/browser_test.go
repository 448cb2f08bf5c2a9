package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/web"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium with a temporary profile; it skips
// (or fails under RELAIS_REQUIRE_SERVICES=1) when Chromium is missing.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Missing(t, "Chromium", chromiumPath+" not found (apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 1600),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	return bctx
}

// TestDashboardInChromium logs in through the form in a real browser,
// lands on the campaign page it asked for, reads the funnel numbers from
// the DOM and saves a screenshot in the test's artifact directory (kept
// with go test -artifacts).
func TestDashboardInChromium(t *testing.T) {
	ctx := browser(t)
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), Catalog: exampleCatalog(t)}))
	defer srv.Close()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/ui/campaigns/printemps-2027"),
		chromedp.WaitVisible(chromedp.CSS("#key")), // redirected to the login form
		chromedp.SendKeys(chromedp.CSS("#key"), testKey),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#funnel")),
	); err != nil {
		t.Fatalf("browser: log in and open the campaign: %v", err)
	}
	title := run(t, ctx, chromedp.Title())
	stages := run(t, ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#funnel td[data-stage]')].map(td => [td.dataset.stage, td.textContent.trim()]))`))
	roi := run(t, ctx, chromedp.Text(chromedp.CSS("#kpi-roi")))
	bars := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.bars g[id^="funnel-"] rect').length`))
	columns := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#timeline-sent svg rect').length`))
	shot := run(t, ctx, chromedp.FullScreenshot(100))
	if title != "printemps-2027 · relais" {
		t.Errorf("title %q: not the campaign page after login", title)
	}
	want := map[string]string{"targeted": "7", "refused": "2", "sent": "5", "delivered": "0", "bounced": "0",
		"opened": "2", "machine-opened": "1", "clicked": "1", "responses": "1", "unsubscribed": "0", "conversions": "1"}
	for stage, n := range want {
		if stages[stage] != n {
			t.Errorf("funnel %s = %q, want %s", stage, stages[stage], n)
		}
	}
	// ROI = (12.5 − 5 × 0.001) / (5 × 0.001)
	if roi != "2499.00" {
		t.Errorf("ROI shown %q, want 2499.00", roi)
	}
	if bars != 7 {
		t.Errorf("%d funnel bars drawn, want 7", bars)
	}
	// Sends at 09:05, 09:25, 09:45, 10:05, 10:25: two hours with sends.
	if columns != 2 {
		t.Errorf("%d timeline columns for sends, want 2", columns)
	}
	path := filepath.Join(t.ArtifactDir(), "campaign.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}

// run runs one browser action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// TestPauseButtonInChromium signs in with an admin key in a real browser,
// clicks Pause on a sending run, confirms, and finds the run paused in
// the store and on the page: the form carries the CSRF token the server
// checks.
func TestPauseButtonInChromium(t *testing.T) {
	ctx := browser(t)
	st := seededStore(t)
	r := activeRun(t, st)
	srv := httptest.NewServer(newServer(t, web.Deps{Store: st}))
	defer srv.Close()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/ui/runs/"+strconv.FormatInt(r.ID, 10)),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), adminKey),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#action-pause")),
		chromedp.Click(chromedp.CSS("#action-pause")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
	); err != nil {
		t.Fatalf("browser: sign in, pause and confirm: %v", err)
	}
	status := run(t, ctx, chromedp.Text(chromedp.CSS("#status")))
	resume := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#action-resume').length`))
	got, err := st.GetRun(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status != "paused" || resume != 1 || got.PausedAt.IsZero() {
		t.Errorf("after the click: status shown %q, %d resume button, paused at %v; want paused, 1, set", status, resume, got.PausedAt)
	}
}

// TestQueuePauseInChromium checks an admin can still pause a queue from
// asynqmon's own page in a real browser: its client sends the session's
// CSRF token (from the XSRF-TOKEN cookie) with the request.
func TestQueuePauseInChromium(t *testing.T) {
	ctx := browser(t)
	_, redisURL := testenv.StartRedis(t)
	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	cl := asynq.NewClient(opt)
	defer cl.Close()
	if _, err := cl.Enqueue(asynq.NewTask("noop", nil), asynq.Queue("marketing")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(t, web.Deps{Store: seededStore(t), RedisConnOpt: opt}))
	defer srv.Close()
	const cell = `table[aria-label="queues overview table"] tbody tr td.MuiTableCell-alignCenter`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/ui/queues/"),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), adminKey),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS(cell+" button")),
		chromedp.Click(chromedp.CSS(cell+" button")), // hovering the cell shows the actions
		chromedp.WaitVisible(chromedp.CSS(cell+" button.MuiIconButton-colorPrimary")),
		chromedp.Click(chromedp.CSS(cell+" button.MuiIconButton-colorPrimary")),
	); err != nil {
		t.Fatalf("browser: sign in and pause the queue in asynqmon: %v", err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	testenv.WaitFor(t, "asynqmon's pause to reach Redis", 10*time.Second, func() bool {
		info, err := insp.GetQueueInfo("marketing")
		return err == nil && info.Paused
	})
}
