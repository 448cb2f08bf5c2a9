package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/followup"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/testenv"
)

// serveProject writes a campaign repository with a small audience of
// persons who all consented to email and (but Hugo) to SMS.
func serveProject(t *testing.T, campaigns map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"audiences/clients.csv": "external_id;first_name;last_name;email;phone;city;kind;consent_email;consent_sms\n" +
			"S1;Camille;Durand;camille@example.org;06 12 34 56 78;Lyon;person;oui;oui\n" +
			"S2;Julien;Moreau;julien@example.org;06 23 45 67 89;Lyon;person;oui;oui\n" +
			"S3;Léa;Lefèvre;lea@example.net;07 11 22 33 44;Lyon;person;oui;oui\n" +
			"S4;Hugo;Bernard;hugo@example.com;06 98 76 54 32;Lyon;person;oui;non\n" +
			"S5;Manon;Fournier;manon@example.org;06 55 44 33 22;Lyon;person;oui;oui\n",
		"templates/t/email.txt": "Bonjour {{.Contact.FirstName}},\nLes nouveautés.\nSe désinscrire : {{.Links.Unsubscribe}}\n",
		"templates/t/sms.txt":   "Dupont : -15% jusqu'à dimanche. STOP au 36180\n",
		// SMS quiet hours would defer the reminder outside 8:00–20:00 on
		// working days; this test is about follow-ups, not quiet hours.
		"relais.yaml": "policy:\n  quiet_hours:\n    enabled: false\n",
	}
	for p, s := range campaigns {
		files["campaigns/"+p] = s
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
	return dir
}

// replaceFile rewrites path through a rename, as editors and git do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp~", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp~", path); err != nil {
		t.Fatal(err)
	}
}

// serveProc is a `relais serve` running in a goroutine.
type serveProc struct {
	logs *syncBuffer
	stop func() // stops it and waits (graceful shutdown); idempotent
}

// startServe runs `relais serve` in a goroutine until stop or the end of
// the test.
func startServe(t *testing.T, env map[string]string, args ...string) serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), func(k string) string { return env[k] }, &out, &errb)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v\n%s", err, errb.String())
			}
		})
	}
	t.Cleanup(stop)
	return serveProc{logs: &errb, stop: stop}
}

func waitUntil(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, timeout, ok)
}

func openStore(t *testing.T, url string) store.Store {
	t.Helper()
	st, err := storeopen.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

const hebdoYAML = `id: hebdo
name: Hebdo
purpose: marketing
audience: { source: file, file: audiences/clients.csv }
channels: [email]
sender: { email: "Maison Dupont <news@dupont.example>" }
steps:
  - id: lettre
    email: { subject: "SUBJECT {{.Contact.FirstName}}", text: templates/t/email.txt }
schedule: { cron: "@every 2s", timezone: UTC }
limits: { frequency_cap: 1000/1d }
`

// TestServeScheduleTwoProcesses starts two `serve` processes on one
// redis-server and one database, with a campaign scheduled every 2 s
// (a short cron stands in for "every minute"): every tick makes exactly
// one run and every recipient gets one message per run. Then the campaign
// file is edited while both run: the new version goes live within
// seconds (runs use it, messages carry the new subject); a broken edit
// keeps it live and is reported.
func TestServeScheduleTwoProcesses(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := serveProject(t, map[string]string{"hebdo.yaml": strings.Replace(hebdoYAML, "SUBJECT", "v1", 1)})
			old := schedulerSyncInterval
			schedulerSyncInterval = 500 * time.Millisecond
			t.Cleanup(func() { schedulerSyncInterval = old })
			_, redisURL := testenv.StartRedis(t)
			smtp := testenv.StartSMTP(t)
			dbURL := "sqlite:" + filepath.Join(dir, "var", "relais.db")
			if db == "postgres" {
				dbURL = testenv.PostgresURL(t)
			}
			env := func() map[string]string {
				return map[string]string{
					"RELAIS_REDIS_URL": redisURL, "RELAIS_DATABASE_URL": dbURL, "RELAIS_SMTP_URL": smtp.URL(),
					"RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_HTTP_ADDR": testenv.Addr(testenv.FreePort(t)),
				}
			}
			procs := []serveProc{startServe(t, env()), startServe(t, env())}
			st := openStore(t, dbURL)
			ctx := context.Background()
			runs := func() []store.Run {
				rs, err := st.ListRuns(ctx, "hebdo", 1000)
				if err != nil {
					t.Fatal(err)
				}
				return rs
			}
			waitUntil(t, "4 scheduled runs", 30*time.Second, func() bool { return len(runs()) >= 4 })
			first := runs()
			v1 := first[0].ContentHash

			replaceFile(t, filepath.Join(dir, "campaigns", "hebdo.yaml"), strings.Replace(hebdoYAML, "SUBJECT", "v2", 1))
			var v2 string
			waitUntil(t, "a run of the edited version", 30*time.Second, func() bool {
				rs := runs()
				v2 = rs[0].ContentHash
				return v2 != v1
			})
			waitUntil(t, "a message with the new subject", 20*time.Second, func() bool {
				for _, m := range smtp.Messages() {
					if strings.HasPrefix(parseMail(t, m.Data).Subject, "v2 ") {
						return true
					}
				}
				return false
			})

			replaceFile(t, filepath.Join(dir, "campaigns", "hebdo.yaml"), strings.Replace(hebdoYAML, "@every 2s", "@chaque 2s", 1))
			for _, p := range procs {
				waitUntil(t, "the broken edit reported", 20*time.Second, func() bool {
					s := p.logs.String()
					return strings.Contains(s, "previous version stays live") && strings.Contains(s, "hebdo.yaml:10:")
				})
			}
			n := len(runs())
			waitUntil(t, "two runs after the broken edit", 30*time.Second, func() bool { return len(runs()) >= n+2 })
			if rs := runs(); rs[0].ContentHash != v2 {
				t.Errorf("after a broken edit the run used version %.12s, want the last valid one %.12s", rs[0].ContentHash, v2)
			}

			// Stop both processes (in-flight sends finish), then check the
			// invariants on a quiet system.
			for _, p := range procs {
				p.stop()
			}
			all := runs()
			seen := map[string]bool{}
			sent := map[int64]int{} // contact → accepted rows over all runs
			for _, r := range all {
				if seen[r.RunKey] {
					t.Errorf("tick %s has two runs", r.RunKey)
				}
				seen[r.RunKey] = true
				tick, err := time.Parse(time.RFC3339, r.RunKey)
				if err != nil || !tick.Equal(tick.Truncate(2*time.Second)) {
					t.Errorf("run key %q is not a 2 s tick (%v)", r.RunKey, err)
				}
				if r.ContentHash != v1 && r.ContentHash != v2 {
					t.Errorf("run %d used an unknown version %.12s", r.ID, r.ContentHash)
				}
				rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != 5 {
					t.Errorf("run %s has %d ledger rows, want one per recipient (5)", r.RunKey, len(rows))
				}
				for _, row := range rows {
					if row.State == store.Accepted {
						sent[row.ContactID]++
					}
				}
			}
			// One message per recipient per run, none twice: the other
			// process's firing of a tick sent nothing more.
			byRcpt := map[string]int{}
			for _, m := range smtp.Messages() {
				byRcpt[m.To[0]]++
			}
			total := 0
			for id, k := range sent {
				c, err := st.GetContact(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if byRcpt[c.Email] != k {
					t.Errorf("recipient %d got %d messages for %d accepted sends", id, byRcpt[c.Email], k)
				}
				total += k
			}
			if smtp.Count() != total || total < 5*4 {
				t.Errorf("SMTP received %d messages; %d accepted sends over %d runs", smtp.Count(), total, len(all))
			}
			t.Logf("%d runs, %d messages", len(all), total)
		})
	}
}

const relanceYAML = `id: relance
name: Relance
purpose: marketing
audience: { source: file, file: audiences/clients.csv }
channels: [email]
sender: { email: "Maison Dupont <news@dupont.example>", sms: DUPONT }
steps:
  - id: annonce
    email: { subject: "Le printemps arrive", text: templates/t/email.txt }
  - id: relance
    after: 72h
    when: 'not opened("annonce")'
    channels: [sms]
    sms: { text: templates/t/sms.txt }
`

// TestServeFollowupToNonOpeners is the acceptance test of follow-up
// steps: a two-step campaign (email, then SMS 72 h later to those who did
// not open) run through `serve` on a real redis-server, a real SMTP
// server and the Twilio double. Camille and Léa open the email; time is
// advanced by running the delayed follow-up tasks now; the SMS goes
// exactly to the non-openers who consented to SMS (Julien, Manon), and
// Hugo, who did not open but refused SMS, is refused with the reason.
func TestServeFollowupToNonOpeners(t *testing.T) {
	dir := serveProject(t, map[string]string{"relance.yaml": relanceYAML})
	_, redisURL := testenv.StartRedis(t)
	smtp := testenv.StartSMTP(t)
	tw := testenv.StartTwilio(t)
	dbURL := "sqlite:" + filepath.Join(dir, "var", "relais.db")
	env := map[string]string{
		"RELAIS_REDIS_URL": redisURL, "RELAIS_DATABASE_URL": dbURL, "RELAIS_SMTP_URL": smtp.URL(),
		"RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_HTTP_ADDR": testenv.Addr(testenv.FreePort(t)),
		"RELAIS_PUBLIC_URL":  "http://" + testenv.Addr(testenv.FreePort(t)),
		"TWILIO_ACCOUNT_SID": tw.AccountSID, "TWILIO_AUTH_TOKEN": tw.AuthToken, "TWILIO_API_BASE_URL": tw.URL,
	}
	startServe(t, env, "--roles", "worker,scheduler")
	c := &cli{t: t, env: env}
	ctx := context.Background()
	c.mustRun(ctx, "run", "campaigns/relance.yaml", "--run-key", "k1", "--wait")
	if !smtp.WaitFor(5, 20*time.Second) {
		t.Fatalf("SMTP got %d messages, want 5", smtp.Count())
	}

	opt, err := queue.RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	followups := func() []*asynq.TaskInfo {
		ts, err := insp.ListScheduledTasks(queue.Marketing)
		if err != nil {
			t.Fatal(err)
		}
		var out []*asynq.TaskInfo
		for _, ti := range ts {
			if ti.Type == followup.TypeFollowup {
				out = append(out, ti)
			}
		}
		return out
	}
	waitUntil(t, "5 follow-ups scheduled", 20*time.Second, func() bool { return len(followups()) == 5 })
	for _, ti := range followups() {
		if d := time.Until(ti.NextProcessAt); d < 71*time.Hour || d > 72*time.Hour {
			t.Errorf("follow-up due in %s, want 72h after the email", d)
		}
	}

	// Camille and Léa open the email (their events are recorded on the
	// email's ledger row, as the open pixel does).
	st := openStore(t, dbURL)
	r, err := st.FindRun(ctx, "relance", "k1")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	phoneOf := map[int64]string{}
	var opens []store.Event
	for _, row := range rows {
		ct, err := st.GetContact(ctx, row.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		phoneOf[ct.ID] = ct.Phone
		if ct.ExternalID == "S1" || ct.ExternalID == "S3" {
			opens = append(opens, store.Event{LedgerID: row.ID, Type: store.EventOpened, At: time.Now(), DedupeKey: "open-" + row.ID})
		}
	}
	if _, err := st.(store.EventStore).RecordEvents(ctx, opens); err != nil {
		t.Fatal(err)
	}

	// 72 hours later: the delayed tasks run now.
	for _, ti := range followups() {
		if err := insp.RunTask(queue.Marketing, ti.ID); err != nil {
			t.Fatal(err)
		}
	}
	relanceRows := func() map[int64]store.LedgerRow {
		all, err := st.ListLedger(ctx, store.LedgerFilter{RunID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]store.LedgerRow{}
		for _, row := range all {
			if row.StepID == "relance" {
				out[row.ContactID] = row
			}
		}
		return out
	}
	waitUntil(t, "the reminders sent or refused", 30*time.Second, func() bool {
		rs := relanceRows()
		if len(rs) != 3 {
			return false
		}
		for _, row := range rs {
			if !row.State.Terminal() {
				return false
			}
		}
		return true
	})
	waitUntil(t, "no follow-up task left", 10*time.Second, func() bool { return len(followups()) == 0 })

	var got []string
	for _, f := range twCreates(t, tw) {
		got = append(got, f.Get("To"))
	}
	sort.Strings(got)
	want := []string{"+33623456789", "+33655443322"} // Julien, Manon
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("SMS sent to %v, want exactly the non-openers with SMS consent %v", got, want)
	}
	states := map[string]string{}
	for id, row := range relanceRows() {
		states[phoneOf[id]] = string(row.State) + ":" + row.Reason
	}
	if s := states["+33698765432"]; !strings.HasPrefix(s, "refused:") {
		t.Errorf("Hugo's reminder %q, want refused (no SMS consent)", s)
	}
	if smtp.Count() != 5 {
		t.Errorf("%d emails, want 5 (follow-ups sent no email)", smtp.Count())
	}
}

// TestPlanChannelSplit: with `channels: [email, sms, print]`, each
// recipient gets the first channel the policy allows and they have an
// address for; prospects without digital consent fall back to a letter
// (postal prospecting is opt-out), and `plan` shows the split.
func TestPlanChannelSplit(t *testing.T) {
	serveProject(t, map[string]string{"multi.yaml": `id: multi
name: Prospection
purpose: marketing
audience: { source: file, file: audiences/prospects.csv }
channels: [email, sms, print]
sender: { email: "Maison Dupont <news@dupont.example>", sms: DUPONT, postal: { name: Maison Dupont, lines: ["12 rue des Lilas", "69003 LYON"] } }
steps:
  - id: offre
    email: { subject: "Bienvenue", text: templates/t/email.txt }
    sms: { text: templates/t/sms.txt }
    print: { letter: templates/t/lettre.md, subject: "Bienvenue" }
cost: { currency: EUR, email: 0.001, sms: 0.065, print: 0.70 }
`})
	files := map[string]string{
		"audiences/prospects.csv": "external_id;first_name;last_name;email;phone;address_line1;postcode;city;kind;consent_email;consent_sms\n" +
			"P1;Camille;Durand;camille@example.org;06 12 34 56 78;12 rue Mercière;69002;Lyon;person;oui;oui\n" +
			"P2;Julien;Moreau;julien@example.org;06 23 45 67 89;5 place Bellecour;69002;Lyon;person;non;oui\n" +
			"P3;Léa;Lefèvre;lea@example.net;07 11 22 33 44;8 cours Vitton;69006;Lyon;person;non;non\n" +
			"P4;Hugo;Bernard;hugo@example.com;;3 rue de la République;69001;Lyon;person;;\n" +
			"P5;Manon;Fournier;manon@example.org;06 55 44 33 22;;;;person;;\n",
		"templates/t/lettre.md": "{{.Contact.FirstName}} {{.Contact.LastName}},\n\nNous ouvrons à {{.Contact.Address.City}}.\n",
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &cli{t: t, env: map[string]string{}}
	r := c.mustRun(context.Background(), "plan", "campaigns/multi.yaml", "--json")
	var res struct {
		Planned   int            `json:"planned"`
		Refused   int            `json:"refused"`
		ByChannel map[string]int `json:"by_channel"`
		ByReason  map[string]int `json:"by_reason"`
		Cost      float64        `json:"estimated_cost"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, r.stdout)
	}
	want := map[string]int{"email": 1, "sms": 1, "print": 2}
	if len(res.ByChannel) != len(want) || res.ByChannel["email"] != 1 || res.ByChannel["sms"] != 1 || res.ByChannel["print"] != 2 {
		t.Errorf("split %v, want %v", res.ByChannel, want)
	}
	if res.Planned != 4 || res.Refused != 1 || len(res.ByReason) != 1 {
		t.Errorf("planned %d, refused %d %v; want 4 planned and Manon (no consent, no address) refused", res.Planned, res.Refused, res.ByReason)
	}
	if wantCost := 0.001 + 0.065 + 2*0.70; res.Cost < wantCost-1e-9 || res.Cost > wantCost+1e-9 {
		t.Errorf("estimated cost %.3f, want %.3f", res.Cost, wantCost)
	}
	text := c.mustRun(context.Background(), "plan", "campaigns/multi.yaml").stdout
	for _, line := range []string{"email", "sms", "print"} {
		if !strings.Contains(text, "  "+line) {
			t.Errorf("plan output has no %s line:\n%s", line, text)
		}
	}
}
