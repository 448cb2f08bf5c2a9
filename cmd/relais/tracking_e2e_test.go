package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/tracking"
)

// The two recipients the tracking test acts for: A opens, clicks and
// converts; B unsubscribes.
const (
	trackA = "camille.durand@example.org"
	trackB = "julien.moreau@example.org"
	// trackUA is a person's mail client: not a known proxy or scanner.
	trackUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.0"
)

var (
	pixelRE = regexp.MustCompile(`https?://[^"'\s<>]+/o/[A-Za-z0-9_-]+(?:\.gif)?`)
	clickRE = regexp.MustCompile(`https?://[^"'\s<>]+/c/[A-Za-z0-9_-]+`)
	hrefRE  = regexp.MustCompile(`href="([^"]+)"`)
)

// trackedMail is what the test reads from one received message.
type trackedMail struct {
	pixel  string   // open pixel URL
	clicks []string // rewritten link URLs
	unsub  string   // https unsubscribe URL of List-Unsubscribe
}

func readTracked(t *testing.T, raw []byte) trackedMail {
	t.Helper()
	m := parseMail(t, raw)
	var tm trackedMail
	tm.pixel = pixelRE.FindString(m.HTML)
	tm.clicks = append(clickRE.FindAllString(m.HTML, -1), clickRE.FindAllString(m.Text, -1)...)
	lu := m.Header.Get("List-Unsubscribe")
	if i, j := strings.Index(lu, "<http"), strings.Index(lu, ">"); i >= 0 && j > i {
		tm.unsub = lu[i+1 : j]
	}
	if got := m.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", got)
	}
	if tm.pixel == "" || len(tm.clicks) == 0 || tm.unsub == "" {
		t.Fatalf("message lacks pixel (%q), rewritten links (%d) or List-Unsubscribe (%q)", tm.pixel, len(tm.clicks), lu)
	}
	return tm
}

// tokenOf returns the last path segment of a tracking URL.
func tokenOf(u string) string {
	return strings.TrimSuffix(u[strings.LastIndexByte(u, '/')+1:], ".gif")
}

// flipByte changes one character in the middle of a token.
func flipByte(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// templateLinks returns the http(s) links of the example campaign's
// templates: the only destinations /c/ may redirect to.
func templateLinks(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range []string{"templates/printemps/email.html", "templates/printemps/email.txt"} {
		s := readFile(t, f)
		for _, m := range hrefRE.FindAllStringSubmatch(s, -1) {
			if strings.HasPrefix(m[1], "http") {
				out[m[1]] = true
			}
		}
		for _, w := range strings.Fields(s) {
			if strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://") {
				out[strings.TrimRight(w, ".,;:)")] = true
			}
		}
	}
	return out
}

// browser makes requests as a person's mail client and never follows
// redirects, so the test sees each 302 and its Location.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	return &browser{t: t, c: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends one request and returns the response with its body read.
func (b *browser) do(method, u, ctype string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", trackUA)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, rb
}

func (b *browser) get(u string) (*http.Response, []byte) {
	b.t.Helper()
	return b.do(http.MethodGet, u, "", nil, nil)
}

// oneClick is the RFC 8058 POST a mailbox provider sends.
func (b *browser) oneClick(u string) (*http.Response, []byte) {
	b.t.Helper()
	return b.do(http.MethodPost, u, "application/x-www-form-urlencoded", []byte("List-Unsubscribe=One-Click"), nil)
}

// TestTrackingEndToEnd is issue 6's acceptance test through `relais serve`
// (api and worker roles) on a real redis-server, a real SMTP server and
// SQLite, then PostgreSQL: the example campaign is sent; from the
// received messages the test opens A's pixel, follows A's link, shows B's
// unsubscribe page (which unsubscribes nobody) and one-click unsubscribes
// B, posts a conversion for A through the API; `relais report --json`
// shows exactly those numbers with the cost and ROI of the file's
// `cost:`. Tampered, foreign-key and wrong-purpose tokens record nothing,
// /c/ only redirects to links of the message, and a new marketing run
// refuses B as opted out.
func TestTrackingEndToEnd(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := project(t)
			// Open tracking needs consent by default; this test is about the
			// pixel endpoint, so track every open.
			if err := os.WriteFile(filepath.Join(dir, "relais.yaml"), []byte("policy:\n  open_tracking: always\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, redisURL := testenv.StartRedis(t)
			smtp := testenv.StartSMTP(t)
			dbURL := "sqlite:" + filepath.Join(dir, "var", "relais.db")
			if db == "postgres" {
				dbURL = testenv.PostgresURL(t)
			}
			const secret = "test-secret-0123456789abcdef"
			addr := testenv.Addr(testenv.FreePort(t))
			base := "http://" + addr
			env := map[string]string{
				"RELAIS_REDIS_URL": redisURL, "RELAIS_DATABASE_URL": dbURL, "RELAIS_SMTP_URL": smtp.URL(),
				"RELAIS_SECRET": secret, "RELAIS_HTTP_ADDR": addr, "RELAIS_PUBLIC_URL": base,
			}
			c := &cli{t: t, env: env}
			ctx := context.Background()
			startServe(t, env, "--roles", "api,worker")
			br := newBrowser(t)
			waitUntil(t, "the HTTP server", 20*time.Second, func() bool {
				resp, err := br.c.Get(base + "/healthz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			})

			c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait", "--run-key", "k1")
			if !smtp.WaitFor(len(wantRecipients), 20*time.Second) {
				t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients))
			}
			mails := map[string]trackedMail{}
			allowed := templateLinks(t)
			signer, err := tracking.SignerFromSecrets(secret)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range smtp.Messages() {
				checkMail(t, m.Data, m.To[0])
				tm := readTracked(t, m.Data)
				mails[m.To[0]] = tm
				// Every rewritten link carries a destination of the template.
				for _, cu := range tm.clicks {
					cl, err := signer.VerifyFor(tokenOf(cu), tracking.PurposeClick)
					if err != nil {
						t.Fatalf("click token of a sent message: %v", err)
					}
					if !allowed[cl.URL] {
						t.Errorf("rewritten link points to %q, not a link of the template %v", cl.URL, allowed)
					}
				}
			}
			a, b := mails[trackA], mails[trackB]
			aOpen, err := signer.VerifyFor(tokenOf(a.pixel), tracking.PurposeOpen)
			if err != nil {
				t.Fatal(err)
			}
			bUnsub, err := signer.VerifyFor(tokenOf(b.unsub), tracking.PurposeUnsubscribe)
			if err != nil {
				t.Fatal(err)
			}
			st := openStore(t, dbURL)

			// Forged and misused tokens: each answer is checked here and
			// the exact report below proves none of them recorded anything.
			other, err := tracking.SignerFromSecrets("another-secret-0123456789abcdef")
			if err != nil {
				t.Fatal(err)
			}
			foreignOpen := other.Sign(tracking.Claims{Purpose: tracking.PurposeOpen, LedgerID: aOpen.LedgerID,
				RunID: aOpen.RunID, ContactID: aOpen.ContactID, Campaign: aOpen.Campaign, Step: aOpen.Step, Channel: aOpen.Channel})
			foreignClick := other.Sign(tracking.Claims{Purpose: tracking.PurposeClick, LedgerID: aOpen.LedgerID,
				RunID: aOpen.RunID, ContactID: aOpen.ContactID, Campaign: aOpen.Campaign, Step: aOpen.Step, Channel: aOpen.Channel,
				URL: "https://evil.example/phish"})
			foreignUnsub := other.Sign(tracking.Claims{Purpose: tracking.PurposeUnsubscribe, LedgerID: aOpen.LedgerID,
				RunID: aOpen.RunID, ContactID: aOpen.ContactID, Campaign: aOpen.Campaign, Step: aOpen.Step, Channel: aOpen.Channel})
			aClickTok, aUnsubTok := tokenOf(a.clicks[0]), tokenOf(a.unsub)
			bad := []struct {
				name   string
				method string
				path   string
				pixel  bool // the pixel answers a GIF whatever the token
			}{
				{"pixel, one byte changed", http.MethodGet, "/o/" + flipByte(tokenOf(a.pixel)), true},
				{"pixel, other key", http.MethodGet, "/o/" + foreignOpen, true},
				{"pixel, click token", http.MethodGet, "/o/" + aClickTok, true},
				{"pixel, unsubscribe token", http.MethodGet, "/o/" + aUnsubTok, true},
				{"click, one byte changed", http.MethodGet, "/c/" + flipByte(aClickTok), false},
				{"click, other key to another URL", http.MethodGet, "/c/" + foreignClick, false},
				{"click, open token", http.MethodGet, "/c/" + tokenOf(a.pixel), false},
				{"click, unsubscribe token", http.MethodGet, "/c/" + aUnsubTok, false},
				{"click, not a token", http.MethodGet, "/c/" + url.PathEscape("https://evil.example/"), false},
				{"unsubscribe page, one byte changed", http.MethodGet, "/u/" + flipByte(aUnsubTok), false},
				{"one-click, one byte changed", http.MethodPost, "/u/" + flipByte(aUnsubTok), false},
				{"one-click, other key", http.MethodPost, "/u/" + foreignUnsub, false},
				{"one-click, open token", http.MethodPost, "/u/" + tokenOf(a.pixel), false},
				{"one-click, click token", http.MethodPost, "/u/" + aClickTok, false},
			}
			for _, tc := range bad {
				t.Run(tc.name, func(t *testing.T) {
					br := newBrowser(t)
					var resp *http.Response
					var body []byte
					if tc.method == http.MethodPost {
						resp, body = br.oneClick(base + tc.path)
					} else {
						resp, body = br.get(base + tc.path)
					}
					if loc := resp.Header.Get("Location"); loc != "" {
						t.Errorf("redirects to %q", loc)
					}
					if tc.pixel {
						if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" || !bytes.HasPrefix(body, []byte("GIF89a")) {
							t.Errorf("pixel answered %d %s, want the GIF", resp.StatusCode, resp.Header.Get("Content-Type"))
						}
						return
					}
					if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
						t.Errorf("status %d, want 400 or 404", resp.StatusCode)
					}
				})
			}

			// B's unsubscribe page: a GET shows the form and changes nothing.
			bConsent := func() contact.ConsentState {
				t.Helper()
				cs, err := st.Consent(ctx, bUnsub.ContactID, policy.ConsentChannel(emailch.Name), contact.PurposeMarketing)
				if err != nil {
					t.Fatal(err)
				}
				return cs
			}
			before := bConsent()
			if before.Status == contact.Refused {
				t.Fatalf("B's consent is refused before any unsubscribe: %+v", before)
			}
			resp, page := br.get(b.unsub)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<form") {
				t.Fatalf("unsubscribe page: %d\n%s", resp.StatusCode, page)
			}
			if after := bConsent(); after.Status != before.Status || after.Source != before.Source || !after.At.Equal(before.At) {
				t.Fatalf("a GET of the unsubscribe page changed B's consent: %+v → %+v", before, after)
			}

			// A person opens A's message and clicks its link, after the
			// machine window: opens within it are counted as scanners.
			if wait := time.Until(aOpen.IssuedAt.Add(tracking.DefaultMachineWindow + 500*time.Millisecond)); wait > 0 {
				time.Sleep(wait)
			}
			resp, gif := br.get(a.pixel)
			if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(gif, []byte("GIF89a")) || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
				t.Fatalf("pixel: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), gif)
			}
			aClick, err := signer.VerifyFor(aClickTok, tracking.PurposeClick)
			if err != nil {
				t.Fatal(err)
			}
			resp, _ = br.get(a.clicks[0])
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != aClick.URL {
				t.Fatalf("click: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), aClick.URL)
			}

			// B's mailbox provider posts the RFC 8058 one-click.
			resp, page = br.oneClick(b.unsub)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("one-click unsubscribe: %d\n%s", resp.StatusCode, page)
			}
			if got := bConsent(); got.Status != contact.Refused {
				t.Fatalf("B's consent after one-click: %+v, want refused", got)
			}
			// The misused tokens of A above unsubscribed nobody.
			if cs, err := st.Consent(ctx, aOpen.ContactID, policy.ConsentChannel(emailch.Name), contact.PurposeMarketing); err != nil || cs.Status == contact.Refused {
				t.Fatalf("A's consent %+v (%v): a misused token unsubscribed A", cs, err)
			}

			// A's order, attributed by contact and campaign (last touch).
			key := c.mustRun(ctx, "apikey", "create", "shop", "--scope", "events,reports", "--json")
			var k struct {
				Key string `json:"key"`
			}
			if err := json.Unmarshal([]byte(key.stdout), &k); err != nil || k.Key == "" {
				t.Fatalf("apikey --json: %v\n%s", err, key.stdout)
			}
			body := `{"type":"converted","contact":"C001","campaign":"printemps-2027","value":120.50,"currency":"EUR","id":"order-A-1"}`
			resp, rb := br.do(http.MethodPost, base+"/api/v1/events", "application/json", []byte(body),
				map[string]string{"Authorization": "Bearer " + k.Key})
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("POST /api/v1/events: %d %s", resp.StatusCode, rb)
			}
			var ev struct {
				LedgerID string `json:"ledger_id"`
				Recorded bool   `json:"recorded"`
			}
			if err := json.Unmarshal(rb, &ev); err != nil || ev.LedgerID != aOpen.LedgerID || !ev.Recorded {
				t.Fatalf("conversion attributed to %q (recorded %v, %v), want A's message %q", ev.LedgerID, ev.Recorded, err, aOpen.LedgerID)
			}

			// The batcher writes tracking events within a flush interval.
			var rep report.Report
			waitUntil(t, "the tracked events in the report", 20*time.Second, func() bool {
				r := c.mustRun(ctx, "report", "printemps-2027", "--json")
				rep = report.Report{}
				if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
					t.Fatalf("report --json: %v\n%s", err, r.stdout)
				}
				m := rep.Total
				return m.OpenEvents+m.MachineOpens >= 1 && m.ClickEvents+m.MachineClicks >= 1 && m.Unsubscribes >= 1
			})
			m := rep.Total
			wantROI := (120.5 - 0.005) / 0.005
			checks := []struct {
				name      string
				got, want float64
			}{
				{"targeted", float64(m.Targeted), 7},
				{"refused", float64(m.Refused), 2},
				{"refused no_consent", float64(m.RefusedBy["no_consent"]), 1},
				{"refused opted_out", float64(m.RefusedBy["opted_out"]), 1},
				{"sent", float64(m.Sent), 5},
				{"pending", float64(m.Pending), 0},
				{"unique opens (human)", float64(m.Opens), 1},
				{"open events", float64(m.OpenEvents), 1},
				{"machine opens", float64(m.MachineOpens), 0},
				{"unique clicks", float64(m.Clicks), 1},
				{"click events", float64(m.ClickEvents), 1},
				{"machine clicks", float64(m.MachineClicks), 0},
				{"unsubscribes", float64(m.Unsubscribes), 1},
				{"conversions", float64(m.Conversions), 1},
				{"converted messages", float64(m.Converters), 1},
				{"conversion value", m.ConversionValue, 120.5},
				{"responses", float64(m.Responses), 1},
				{"cost", m.Cost, 0.005},
				{"cost per response", deref(m.CostPerResponse), 0.005},
				{"roi", deref(m.ROI), wantROI},
				{"response rate", deref(m.Rates.Response), 0.2},
				{"open rate", deref(m.Rates.Open), 0.2},
				{"unsubscribe rate", deref(m.Rates.Unsubscribe), 0.2},
			}
			for _, ck := range checks {
				if math.Abs(ck.got-ck.want) > 1e-9 {
					t.Errorf("report %s = %v, want %v", ck.name, ck.got, ck.want)
				}
			}
			if rep.Currency != "EUR" || len(rep.Runs) != 1 {
				t.Errorf("report currency %q, %d runs", rep.Currency, len(rep.Runs))
			}

			// Event rows: exactly those the test caused, on the right messages.
			evs, err := st.ListEvents(ctx, store.EventFilter{CampaignID: "printemps-2027", Types: []string{
				store.EventOpened, store.EventClicked, store.EventUnsubscribed, store.EventConverted, store.EventResponded, store.EventViewed}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range evs {
				if e.Machine {
					t.Errorf("event %s on %s flagged machine", e.Type, e.LedgerID)
				}
				got[e.Type] += e.LedgerID + " "
			}
			want := map[string]string{
				store.EventOpened: aOpen.LedgerID + " ", store.EventClicked: aOpen.LedgerID + " ",
				store.EventConverted: aOpen.LedgerID + " ", store.EventUnsubscribed: bUnsub.LedgerID + " ",
			}
			if len(got) != len(want) {
				t.Errorf("events %v, want %v", got, want)
			}
			for ty, w := range want {
				if got[ty] != w {
					t.Errorf("%s events on %q, want %q", ty, got[ty], w)
				}
			}

			// A new marketing run refuses B: opted out.
			c.mustRun(ctx, "run", "campaigns/printemps-2027.yaml", "--wait", "--run-key", "k2", "--resend", "--reason", "second mailing")
			if !smtp.WaitFor(2*len(wantRecipients)-1, 20*time.Second) {
				t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), 2*len(wantRecipients)-1)
			}
			runs, err := st.ListRuns(ctx, "printemps-2027", 10)
			if err != nil || len(runs) != 2 {
				t.Fatalf("runs: %d, %v", len(runs), err)
			}
			rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: runs[0].ID})
			if err != nil {
				t.Fatal(err)
			}
			var bRow *store.LedgerRow
			for i := range rows {
				if rows[i].ContactID == bUnsub.ContactID {
					bRow = &rows[i]
				}
			}
			if bRow == nil || bRow.State != store.Refused || bRow.Reason != policy.ReasonOptedOut {
				t.Fatalf("B in the second run: %+v, want refused opted_out", bRow)
			}
			testenv.WaitQueuesIdle(t, redisURL, 10*time.Second) // nothing left that could still write to B
			n := 0
			for _, msg := range smtp.Messages() {
				if msg.To[0] == trackB {
					n++
				}
			}
			if n != 1 || smtp.Count() != 2*len(wantRecipients)-1 {
				t.Errorf("B received %d messages (total %d), want only the first", n, smtp.Count())
			}
		})
	}
}

// deref reads an optional report number; null becomes NaN so that it
// never equals a wanted value.
func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
