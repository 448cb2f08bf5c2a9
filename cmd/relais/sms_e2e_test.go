package main

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/twiliohook"
)

// e2ePNG is the MMS image (a PNG signature is enough for Twilio's double).
const e2ePNG = "\x89PNG\r\n\x1a\n"

const (
	e2eSecret     = "test-secret-0123456789abcdef"
	e2eService    = "MG0123456789abcdef0123456789abcdef"
	e2eNumber     = "+33757000000"
	e2eAlice      = "+33612000001"
	e2eBruno      = "+33612000002"
	e2eSoldesFile = "campaigns/soldes.yaml"
	e2eRappelFile = "campaigns/rappel.yaml"
	e2eStatusPath = "/webhooks/twilio/status"
)

// twProject writes a campaign with email, sms and mms steps, a marketing
// SMS reminder from a number, their audience, and a relais.yaml without
// quiet hours (so the test does not depend on the time of day).
func twProject(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"relais.yaml": "policy:\n  quiet_hours:\n    enabled: false\n",
		"samples/clients.csv": "external_id;first_name;email;phone;kind;consent_email;consent_sms\n" +
			"A1;Alice;alice@example.org;06 12 00 00 01;person;oui;oui\n" +
			"B2;Bruno;bruno@example.org;06 12 00 00 02;person;oui;oui\n",
		e2eSoldesFile: `id: soldes
purpose: marketing
audience: { source: file, file: samples/clients.csv }
sender:
  email: "Maison Dupont <news@dupont.example>"
  sms: ` + e2eService + `
steps:
  - id: mail
    channels: [email]
    email: { subject: "Les soldes", text: templates/soldes/email.txt }
  - id: texto
    channels: [sms]
    sms: { text: templates/soldes/sms.txt }
  - id: photo
    channels: [mms]
    mms: { text: templates/soldes/mms.txt, media: [templates/soldes/vitrine.png] }
limits: { frequency_cap: 10/7d }
`,
		e2eRappelFile: `id: rappel
purpose: marketing
audience: { source: file, file: samples/clients.csv }
sender: { sms: "` + e2eNumber + `" }
steps:
  - id: rappel
    channels: [sms]
    sms: { text: templates/soldes/rappel.txt }
limits: { frequency_cap: 10/7d }
`,
		"templates/soldes/email.txt":   "Bonjour {{.Contact.FirstName}}, les soldes commencent.\n",
		"templates/soldes/sms.txt":     "{{.Contact.FirstName}}, -20% ce week-end chez Dupont. STOP au 36180\n",
		"templates/soldes/mms.txt":     "La vitrine des soldes, {{.Contact.FirstName}} ! STOP au 36180",
		"templates/soldes/vitrine.png": e2ePNG,
		"templates/soldes/rappel.txt":  "Dernier jour des soldes, {{.Contact.FirstName}}. STOP au 36180",
	}
	for p, s := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

// TestSMSEndToEnd runs a campaign with email, sms and mms steps through
// the CLI on a real redis-server, the SMTP server and the Twilio double;
// then Twilio's signed callbacks move the ledger, forged ones are refused,
// an inbound "Arrêt" opts a number out and the next marketing SMS to it is
// refused.
func TestSMSEndToEnd(t *testing.T) {
	twProject(t)
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTP(t)
	tw := testenv.StartTwilio(t)
	dbPath := filepath.Join(t.TempDir(), "relais.db")
	st, err := sqlstore.OpenSQLite(t.Context(), dbPath)
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// Twilio calls relais serve's public side: its webhooks and media.
	addr := testenv.Addr(testenv.FreePort(t))
	hooksURL := "http://" + addr
	callback := hooksURL + e2eStatusPath

	c := &cli{t: t, env: map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": "sqlite:" + dbPath,
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       e2eSecret,
		"RELAIS_PUBLIC_URL":   hooksURL,
		"RELAIS_HTTP_ADDR":    addr,
		"TWILIO_ACCOUNT_SID":  tw.AccountSID,
		"TWILIO_AUTH_TOKEN":   tw.AuthToken,
		"TWILIO_API_BASE_URL": tw.URL,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan result, 1)
	go func() { served <- c.run(ctx, "serve", "--roles", "worker,api") }()
	defer func() {
		cancel()
		if r := <-served; r.code != 0 {
			t.Errorf("serve exit %d: %s", r.code, r.stderr)
		}
	}()

	waitHTTP(t, hooksURL+"/healthz")
	c.mustRun(context.Background(), "run", e2eSoldesFile, "--wait", "--run-key", "k1")

	// The double received exactly these creates, one per recipient and
	// text step, nothing else.
	sp, err := campaign.Load(e2eSoldesFile)
	if err != nil {
		t.Fatal(err)
	}
	mediaURL, err := twiliohook.MediaURL([]byte(e2eSecret), hooksURL, sp, "templates/soldes/vitrine.png")
	if err != nil {
		t.Fatal(err)
	}
	form := func(to, body string, media ...string) url.Values {
		f := url.Values{"To": {to}, "MessagingServiceSid": {e2eService}, "Body": {body}, "StatusCallback": {callback}}
		if len(media) > 0 {
			f["MediaUrl"] = media
		}
		return f
	}
	want := []url.Values{
		form(e2eAlice, "Alice, -20% ce week-end chez Dupont. STOP au 36180"),
		form(e2eAlice, "La vitrine des soldes, Alice ! STOP au 36180", mediaURL),
		form(e2eBruno, "Bruno, -20% ce week-end chez Dupont. STOP au 36180"),
		form(e2eBruno, "La vitrine des soldes, Bruno ! STOP au 36180", mediaURL),
	}
	sent := twCreates(t, tw)
	if !twSameForms(sent, want) {
		t.Fatalf("Twilio creates:\n%v\nwant:\n%v", sent, want)
	}
	// Twilio can fetch the MMS image from relais.
	resp, err := http.DefaultClient.Get(mediaURL)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || string(img) != e2ePNG {
		t.Errorf("media: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), img)
	}
	if !smtp.WaitFor(2, 10*time.Second) || smtp.Count() != 2 {
		t.Errorf("SMTP got %d messages, want 2 (one email step, two recipients)", smtp.Count())
	}

	run, err := st.FindRun(t.Context(), "soldes", "k1")
	if err != nil {
		t.Fatalf("FindRun: %v", err)
	}
	rows := twLedgerBy(t, st, run.ID)
	aliceSMS, aliceMMS := rows["texto/"+e2eAlice], rows["photo/"+e2eAlice]
	brunoSMS, brunoMMS := rows["texto/"+e2eBruno], rows["photo/"+e2eBruno]
	for _, r := range []store.LedgerRow{aliceSMS, aliceMMS, brunoSMS, brunoMMS} {
		if r.State != store.Accepted || tw.Message(r.ProviderID) == nil {
			t.Fatalf("row %s/%s: %s with provider id %q, want accepted with the double's SID", r.StepID, r.Channel, r.State, r.ProviderID)
		}
	}
	if aliceSMS.Segments != 1 || aliceMMS.Segments != 1 {
		t.Errorf("segments %d and %d, want 1 each", aliceSMS.Segments, aliceMMS.Segments)
	}

	// Signed callbacks move the ledger forward.
	for _, step := range []struct {
		sid, status string
		code        int
	}{
		{aliceSMS.ProviderID, "sent", 0},
		{aliceSMS.ProviderID, "delivered", 0},
		{aliceMMS.ProviderID, "delivered", 0},
		{brunoSMS.ProviderID, "undelivered", 30003},
	} {
		if err := tw.SendStatusError(step.sid, step.status, step.code); err != nil {
			t.Fatalf("status %s: %v", step.status, err)
		}
	}
	wantStates := map[string]store.State{
		aliceSMS.ID: store.Delivered, aliceMMS.ID: store.Delivered, brunoSMS.ID: store.Bounced, brunoMMS.ID: store.Accepted,
	}
	twCheckStates(t, st, wantStates)

	// Forged or unsigned callbacks are refused and change nothing;
	// replayed and older ones are acknowledged and change nothing.
	forged := url.Values{"MessageSid": {brunoMMS.ProviderID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30005"},
		"AccountSid": {tw.AccountSID}, "To": {e2eBruno}}
	tests := []struct {
		name      string
		signature string
		wantCode  int
	}{
		{"unsigned", "", http.StatusForbidden},
		{"wrong key", testenv.SignTwilio("not-the-auth-token", callback, forged), http.StatusForbidden},
		{"signed for another URL", testenv.SignTwilio(tw.AuthToken, "https://relais.example"+e2eStatusPath, forged), http.StatusForbidden},
		{"garbage", "bm90IGEgc2lnbmF0dXJl", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, callback, strings.NewReader(forged.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.signature != "" {
				req.Header.Set("X-Twilio-Signature", tc.signature)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
		})
	}
	for _, replay := range []string{"delivered", "sent", "undelivered"} {
		if err := tw.SendStatus(aliceSMS.ProviderID, replay); err != nil {
			t.Fatalf("replayed %s: %v", replay, err)
		}
	}
	twCheckStates(t, st, wantStates)
	if err := tw.SendStatus(brunoMMS.ProviderID, "delivered"); err != nil {
		t.Fatalf("status: %v", err)
	}
	wantStates[brunoMMS.ID] = store.Delivered
	twCheckStates(t, st, wantStates)
	evs := twEventCounts(t, st, run.ID)
	for key, n := range map[string]int{
		aliceSMS.ID + "/delivered": 1, aliceMMS.ID + "/delivered": 1, brunoSMS.ID + "/bounced": 1, brunoMMS.ID + "/delivered": 1,
		aliceSMS.ID + "/bounced": 0, brunoMMS.ID + "/bounced": 0, brunoSMS.ID + "/delivered": 0,
	} {
		if evs[key] != n {
			t.Errorf("%d %s events, want %d (all: %v)", evs[key], key, n, evs)
		}
	}

	// Inbound: Alice texts "Arrêt" (opt-out), Bruno replies.
	inbound := hooksURL + twiliohook.InboundPath
	if err := tw.SendInbound(inbound, e2eAlice, e2eNumber, " Arrêt "); err != nil {
		t.Fatalf("inbound opt-out: %v", err)
	}
	if err := tw.SendInbound(inbound, e2eBruno, e2eNumber, "Merci, à samedi"); err != nil {
		t.Fatalf("inbound reply: %v", err)
	}
	// Both texts of a recipient were planned together: either may be the
	// latest, but exactly one carries the event.
	evs = twEventCounts(t, st, run.ID)
	if evs[aliceSMS.ID+"/unsubscribed"]+evs[aliceMMS.ID+"/unsubscribed"] != 1 ||
		evs[brunoSMS.ID+"/replied"]+evs[brunoMMS.ID+"/replied"] != 1 {
		t.Errorf("events %v, want one unsubscribed on Alice's texts and one replied on Bruno's", evs)
	}

	// The next marketing SMS is refused for Alice and sent to Bruno, from
	// the campaign's number.
	before := len(sent)
	c.mustRun(context.Background(), "run", e2eRappelFile, "--wait", "--run-key", "k1")
	after := twCreates(t, tw)
	wantNext := url.Values{"To": {e2eBruno}, "From": {e2eNumber}, "Body": {"Dernier jour des soldes, Bruno. STOP au 36180"},
		"StatusCallback": {callback}}
	if len(after) != before+1 || !twSameForms(after[before:], []url.Values{wantNext}) {
		t.Fatalf("creates after the opt-out: %v, want only %v", after[before:], wantNext)
	}
	next, err := st.FindRun(t.Context(), "rappel", "k1")
	if err != nil {
		t.Fatalf("FindRun: %v", err)
	}
	nextRows := twLedgerBy(t, st, next.ID)
	if r := nextRows["rappel/"+e2eAlice]; r.State != store.Refused || r.Reason != "opted_out" {
		t.Errorf("Alice's reminder %s (%q), want refused opted_out", r.State, r.Reason)
	}
	if r := nextRows["rappel/"+e2eBruno]; r.State != store.Accepted {
		t.Errorf("Bruno's reminder %s (%q), want accepted", r.State, r.Reason)
	}
}

// twCreates returns the message-create forms the double received, in order.
func twCreates(t *testing.T, tw *testenv.TwilioDouble) []url.Values {
	t.Helper()
	var out []url.Values
	for _, r := range tw.Requests() {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.Path, "/Messages.json") {
			t.Errorf("unexpected Twilio request %s %s", r.Method, r.Path)
			continue
		}
		out = append(out, r.Form)
	}
	return out
}

// twSameForms compares forms as multisets (workers send concurrently).
func twSameForms(got, want []url.Values) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(want))
next:
	for _, g := range got {
		for i, w := range want {
			if !used[i] && maps.EqualFunc(g, w, slices.Equal) {
				used[i] = true
				continue next
			}
		}
		return false
	}
	return true
}

// twLedgerBy returns a run's rows keyed by "<step>/<contact phone>".
func twLedgerBy(t *testing.T, st *sqlstore.Store, runID int64) map[string]store.LedgerRow {
	t.Helper()
	rows, err := st.ListLedger(t.Context(), store.LedgerFilter{RunID: runID})
	if err != nil {
		t.Fatalf("ListLedger: %v", err)
	}
	out := map[string]store.LedgerRow{}
	for _, r := range rows {
		c, err := st.GetContact(t.Context(), r.ContactID)
		if err != nil {
			t.Fatalf("GetContact: %v", err)
		}
		out[r.StepID+"/"+c.Phone] = r
	}
	return out
}

func twCheckStates(t *testing.T, st *sqlstore.Store, want map[string]store.State) {
	t.Helper()
	for id, s := range want {
		r, err := st.GetLedger(t.Context(), id)
		if err != nil {
			t.Fatalf("GetLedger: %v", err)
		}
		if r.State != s {
			t.Errorf("row %s/%s: %s, want %s", r.StepID, r.Channel, r.State, s)
		}
	}
}

// twEventCounts counts a run's events by "<ledger id>/<type>".
func twEventCounts(t *testing.T, st *sqlstore.Store, runID int64) map[string]int {
	t.Helper()
	evs, err := st.ListEvents(t.Context(), store.EventFilter{RunID: runID})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[e.LedgerID+"/"+e.Type]++
	}
	return out
}

// waitHTTP waits until url answers 200 (a server starting in a goroutine).
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	testenv.WaitFor(t, url+" to answer 200", 15*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
