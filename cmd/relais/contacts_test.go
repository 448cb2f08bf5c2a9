package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/encoding/charmap"

	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/testenv"
)

// frenchExport is a contact export as a French spreadsheet saves it: ";"
// separated, CRLF, French headers, Oui/Non/empty consent cells, decimal
// commas, a quoted field holding ";" and a line break (lines 7–8), and a
// row with missing columns (line 9). It is encoded to Windows-1252 by
// writeFrench.
const frenchExport = "Réf;Civilité;Prénom;Nom;Société;Type;Courriel;Portable;Adresse;CP;Ville;Accord email;Accord SMS;CA 12 mois\r\n" +
	"P1;Mme;Aurélie;Quillebeuf;;Particulier;aurelie.quillebeuf@example.org;06 12 34 56 78;3 rue Mercière;69002;Lyon;Oui;Oui;1234,56\r\n" + // 2: sent
	"P2;M.;Bérenger;Tourville;;Particulier;berenger.tourville@example.org;06 23 45 67 89;5 place Bellecour;69002;Lyon;Non;Non;80\r\n" + // 3: opted out
	"P3;Mme;Cunégonde;Verdier;;Particulier;cunegonde.verdier@example.org;;8 cours Vitton;69006;Lyon;;;12,5\r\n" + // 4: no consent
	"B1;M.;Didier;Roussel;Roussel SARL;Professionnel;contact@roussel.example;;1 quai Saint-Vincent;69001;Lyon;;;5000\r\n" + // 5: sent (no opt-out)
	"B2;Mme;Eulalie;Faure;Faure & Fils;Professionnel;compta@faure.example;;9 rue Royale;69001;Lyon;Non;;300\r\n" + // 6: opted out
	"B3;M.;Fulbert;Garnier;Atelier Garnier;Professionnel;atelier@garnier.example;;\"Bât. B; 2e étage\r\n12 rue des Lilas\";69003;Lyon;Oui;;1234,56\r\n" + // 7-8: sent
	"P9;Mme;Gisèle;Lambert\r\n" + // 9: missing columns
	"P4;M.;Hippolyte;Marchand;;Particulier;hippolyte.marchand@example.org;06 45 67 89 01;2 rue Neuve;69002;Lyon;oui;;99,90\r\n" // 10: sent

const frenchMapping = `Réf: external_id
Civilité: title
Prénom: first_name
Nom: last_name
Société: company
Type: {field: kind, values: {Particulier: person, Professionnel: business}}
Courriel: email
Portable: phone
Adresse: address_line1
CP: postcode
Ville: city
Accord email: consent_email
Accord SMS: consent_sms
CA 12 mois: {attr: revenue_12m, type: number}
`

// wantSent are the marketing email recipients of frenchExport: persons
// who opted in and businesses who did not opt out.
var wantSent = map[string]bool{
	"aurelie.quillebeuf@example.org": true, "contact@roussel.example": true,
	"atelier@garnier.example": true, "hippolyte.marchand@example.org": true,
}

const newsletter = `id: lettre
name: Lettre d'information
purpose: marketing
audience:
  source: contacts
channels: [email]
sender:
  email: "Maison Dupont <news@dupont.example>"
steps:
  - id: annonce
    email:
      subject: "{{.Contact.FirstName}}, nos nouveautés"
      text: templates/lettre.txt
`

const smsCampaign = `id: %s
name: SMS
purpose: %s
audience:
  source: contacts
channels: [sms]
sender:
  sms: DUPONT
steps:
  - id: rappel
    sms: { text: templates/rappel.txt }
`

// contactsProject writes the French export, its mapping, two campaigns
// and their templates into a temp dir made the working directory.
func contactsProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	enc, err := charmap.Windows1252.NewEncoder().String(frenchExport)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clients.csv":                  enc,
		"mapping.yaml":                 frenchMapping,
		"campaigns/lettre.yaml":        newsletter,
		"campaigns/sms-marketing.yaml": strings.Replace(strings.Replace(smsCampaign, "%s", "sms-marketing", 1), "%s", "marketing", 1),
		"campaigns/sms-rappel.yaml":    strings.Replace(strings.Replace(smsCampaign, "%s", "sms-rappel", 1), "%s", "transactional\ntransactional_reason: appointment reminders to every booked customer\nmax_recipients: 10", 1),
		"templates/lettre.txt":         "Bonjour {{.Contact.FirstName}},\n\nNos nouveautés.\n\nSe désinscrire : {{.Links.Unsubscribe}}\n",
		"templates/rappel.txt":         "Maison Dupont : votre commande est prête. STOP au 36180\n",
	}
	for p, s := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runAt runs the CLI with its clock fixed at now (quiet hours).
func (c *cli) runAt(ctx context.Context, now time.Time, args ...string) result {
	c.t.Helper()
	var out, errb syncBuffer
	a := &app{getenv: func(k string) string { return c.env[k] }, stdout: &out, stderr: &errb, now: func() time.Time { return now }}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	code := exitCode(root.ExecuteContext(ctx), &errb)
	if code != 0 {
		c.t.Fatalf("relais %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return result{code, out.String(), errb.String()}
}

// backends runs fn on SQLite and on a throw-away PostgreSQL database.
func backends(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Helper()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := contactsProject(t)
			dbURL := "sqlite:" + filepath.Join(dir, "var", "relais.db")
			if db == "postgres" {
				dbURL = testenv.PostgresURL(t)
			}
			fn(t, dbURL)
		})
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, s)
	}
}

type importOut struct {
	Inserted, Updated, Rejected int
	Consents                    int `json:"consents_recorded"`
	Errors                      []string
}

// TestFrenchSpreadsheetCampaign imports the French export, checks the
// contacts it made, the reported bad row, and that a marketing email
// campaign to the base goes exactly to the persons who opted in and the
// businesses who did not opt out, with plan and ledger agreeing per reason.
func TestFrenchSpreadsheetCampaign(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		smtp := testenv.StartSMTP(t)
		c := &cli{t: t, env: map[string]string{"RELAIS_DATABASE_URL": dbURL, "RELAIS_SMTP_URL": smtp.URL(),
			"RELAIS_SECRET": "test-secret-0123456789abcdef"}}

		r := c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml", "--json")
		var imp importOut
		decodeJSON(t, r.stdout, &imp)
		if imp.Inserted != 7 || imp.Updated != 0 || imp.Rejected != 1 {
			t.Errorf("import = %+v, want 7 inserted, 1 rejected", imp)
		}
		if len(imp.Errors) != 1 || !strings.HasPrefix(imp.Errors[0], "clients.csv:9: ") {
			t.Errorf("rejected rows %q, want clients.csv:9: …", imp.Errors)
		}
		// Consent records: 2 email + 2 sms for persons P1/P2, P4 email, B2 and B3 email.
		if imp.Consents != 7 {
			t.Errorf("consent records written = %d, want 7", imp.Consents)
		}
		text := c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml")
		// Rejected rows are diagnostics (stderr); the summary is the result.
		if !strings.Contains(text.stderr, "clients.csv:9: ") || strings.Contains(text.stdout, "clients.csv:9: ") || !strings.Contains(text.stdout, "0 inserted, 7 updated, 1 rejected") {
			t.Errorf("re-import output:\nstdout:\n%s\nstderr:\n%s", text.stdout, text.stderr)
		}

		var b3 struct {
			Contact struct {
				ExternalID string         `json:"external_id"`
				Kind       string         `json:"kind"`
				LastName   string         `json:"last_name"`
				Address    map[string]any `json:"address"`
				Attrs      map[string]any `json:"attrs"`
			} `json:"contact"`
			Consents []store.ConsentRecord `json:"consents"`
		}
		decodeJSON(t, c.mustRun(ctx, "contacts", "export", "atelier@garnier.example").stdout, &b3)
		tests := []struct {
			name      string
			got, want any
		}{
			{"external id", b3.Contact.ExternalID, "B3"},
			{"kind from value map", b3.Contact.Kind, "business"},
			{"Windows-1252 decoded", b3.Contact.LastName, "Garnier"},
			{"quoted field with ; and newline", b3.Contact.Address["line1"], "Bât. B; 2e étage\n12 rue des Lilas"},
			{"decimal comma", b3.Contact.Attrs["revenue_12m"], 1234.56},
			{"consent proof source", len(b3.Consents) == 1 && b3.Consents[0].Source == "import:clients.csv" && b3.Consents[0].Granted, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.got != tt.want {
					t.Errorf("got %#v, want %#v", tt.got, tt.want)
				}
			})
		}

		var plan struct {
			Targeted, Planned, Refused int
			ByReason                   map[string]int `json:"by_reason"`
		}
		decodeJSON(t, c.mustRun(ctx, "plan", "campaigns/lettre.yaml", "--json").stdout, &plan)
		wantReasons := map[string]int{"opted_out": 2, "no_consent": 1}
		if plan.Targeted != 7 || plan.Planned != 4 || plan.Refused != 3 || len(plan.ByReason) != 2 ||
			plan.ByReason["opted_out"] != 2 || plan.ByReason["no_consent"] != 1 {
			t.Errorf("plan = %+v, want 7 targeted, 4 planned, refused %v", plan, wantReasons)
		}

		c.mustRun(ctx, "run", "campaigns/lettre.yaml", "--wait")
		if !smtp.WaitFor(len(wantSent), 10*time.Second) {
			t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantSent))
		}
		got := map[string]bool{}
		for _, m := range smtp.Messages() {
			got[m.To[0]] = true
		}
		if len(got) != len(wantSent) || smtp.Count() != len(wantSent) {
			t.Errorf("sent to %v, want %v", got, wantSent)
		}
		for to := range got {
			if !wantSent[to] {
				t.Errorf("message to %s, who may not receive marketing", to)
			}
		}
		var st struct{ Counts map[string]int }
		decodeJSON(t, c.mustRun(ctx, "status", "1", "--json").stdout, &st)
		sum := 0
		for reason, n := range plan.ByReason {
			if st.Counts["refused:"+reason] != n {
				t.Errorf("ledger refused:%s = %d, plan said %d", reason, st.Counts["refused:"+reason], n)
			}
			sum += n
		}
		if sent := st.Counts["accepted"] + st.Counts["delivered"]; sent != plan.Planned || sent+sum != plan.Targeted {
			t.Errorf("ledger %v does not add up to the plan %+v", st.Counts, plan)
		}
	})
}

// TestOptOutDuringRun records an opt-out while the first message of a run
// is held by a slow SMTP server: every later send to those contacts is
// refused at the send-time check.
func TestOptOutDuringRun(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		smtp := testenv.StartSMTP(t)
		c := &cli{t: t, env: map[string]string{"RELAIS_DATABASE_URL": dbURL, "RELAIS_SMTP_URL": smtp.URL(),
			"RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_CONCURRENCY": "1"}}
		c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml")
		entered, release := smtp.HoldData()
		defer release()
		done := make(chan result, 1)
		go func() { done <- c.run(ctx, "run", "campaigns/lettre.yaml", "--wait", "--json") }()
		select {
		case <-entered:
		case r := <-done:
			t.Fatalf("run ended before sending: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		case <-time.After(20 * time.Second):
			t.Fatal("no message reached the SMTP server")
		}
		// One message is in flight; the three others wait in the queue.
		for to := range wantSent {
			c.mustRun(ctx, "consent", "set", to, "--channel", "email", "--refused", "--source", "phone call", "--text", "opt-out v1")
		}
		release()
		r := <-done
		if r.code != 0 {
			t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		var out struct{ Counts map[string]int }
		decodeJSON(t, r.stdout, &out)
		if n := smtp.Count(); n != 1 {
			t.Errorf("%d messages sent after the opt-outs, want only the one in flight", n)
		}
		if out.Counts["refused:opted_out"] != 2+3 || out.Counts["accepted"] != 1 {
			t.Errorf("ledger counts %v, want 1 accepted and 5 opted out (2 at plan, 3 at send)", out.Counts)
		}
		var shown struct {
			Consents []store.ConsentRecord `json:"consents"`
		}
		decodeJSON(t, c.mustRun(ctx, "consent", "show", "hippolyte.marchand@example.org", "--json").stdout, &shown)
		if len(shown.Consents) != 1 || shown.Consents[0].Granted || shown.Consents[0].Source != "phone call" || shown.Consents[0].Text != "opt-out v1" {
			t.Errorf("consent show = %+v", shown.Consents)
		}
		table := c.mustRun(ctx, "consent", "show", "P1").stdout
		if !strings.Contains(table, "email") || !strings.Contains(table, "refused") || !strings.Contains(table, "sms") {
			t.Errorf("consent show table:\n%s", table)
		}
	})
}

// TestQuietHours plans a marketing SMS on a Sunday and on Ascension Day
// 2027 at 10:00 Paris time: the sends are deferred to the next allowed
// time; a transactional SMS on the Sunday is sent.
func TestQuietHours(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		c := &cli{t: t, env: map[string]string{"RELAIS_DATABASE_URL": dbURL, "RELAIS_SECRET": "test-secret-0123456789abcdef"}}
		c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml")
		tests := []struct {
			name, campaign, key string
			now, notBefore      time.Time
			state               store.State
		}{
			{"marketing on Sunday", "campaigns/sms-marketing.yaml", "sunday",
				time.Date(2027, 5, 2, 10, 0, 0, 0, paris), time.Date(2027, 5, 3, 8, 0, 0, 0, paris), store.Deferred},
			{"marketing on Ascension Day", "campaigns/sms-marketing.yaml", "ascension",
				time.Date(2027, 5, 6, 10, 0, 0, 0, paris), time.Date(2027, 5, 7, 8, 0, 0, 0, paris), store.Deferred},
			{"transactional on Sunday", "campaigns/sms-rappel.yaml", "sunday",
				time.Date(2027, 5, 2, 10, 0, 0, 0, paris), time.Time{}, store.Accepted},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.runAt(ctx, tt.now, "run", tt.campaign, "--run-key", tt.key, "--wait")
				st, err := storeopen.Open(ctx, dbURL)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				id := strings.TrimSuffix(filepath.Base(tt.campaign), ".yaml")
				run, err := st.FindRun(ctx, id, tt.key)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := st.ListLedger(ctx, store.LedgerFilter{RunID: run.ID, States: []store.State{tt.state}})
				if err != nil {
					t.Fatal(err)
				}
				// P1 opted in to SMS (marketing); every mobile gets the
				// transactional one (P1, P2, P4).
				want := 1
				if tt.state == store.Accepted {
					want = 3
				}
				if len(rows) != want {
					all, _ := st.CountLedger(ctx, run.ID)
					t.Fatalf("%d rows %s, want %d (ledger %v)", len(rows), tt.state, want, all)
				}
				for _, r := range rows {
					if !r.NotBefore.Equal(tt.notBefore) {
						t.Errorf("NotBefore = %v, want %v", r.NotBefore.In(paris), tt.notBefore)
					}
					if tt.state == store.Deferred && r.Reason != "quiet_hours" {
						t.Errorf("deferred with reason %q", r.Reason)
					}
				}
			})
		}
	})
}

// TestForgetAndRetention erases a person who received a campaign: the
// export no longer finds them, no plain copy of the address is left in the
// database (the SQLite file and WAL read byte by byte; every text column
// of every PostgreSQL table), a re-import of the address is refused for
// marketing as erased, and the retention job erases the inactive
// prospects but not one who clicked.
func TestForgetAndRetention(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		c := &cli{t: t, env: map[string]string{"RELAIS_DATABASE_URL": dbURL, "RELAIS_SECRET": "test-secret-0123456789abcdef"}}
		c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml")
		c.mustRun(ctx, "run", "campaigns/lettre.yaml", "--wait")

		const addr = "aurelie.quillebeuf@example.org"
		var doc struct {
			Contact struct {
				ID int64 `json:"id"`
			} `json:"contact"`
			Consents   []store.ConsentRecord             `json:"consents"`
			Deliveries []struct{ State, Channel string } `json:"deliveries"`
		}
		decodeJSON(t, c.mustRun(ctx, "contacts", "export", addr).stdout, &doc)
		if len(doc.Deliveries) != 1 || doc.Deliveries[0].State != "accepted" || len(doc.Consents) != 2 {
			t.Fatalf("export before forget: %+v", doc)
		}

		r := c.mustRun(ctx, "contacts", "forget", addr)
		if !strings.Contains(r.stdout, "erased") || strings.Contains(r.stdout, "already") {
			t.Errorf("forget output %q", r.stdout)
		}
		again := c.mustRun(ctx, "contacts", "forget", "#"+strconv.FormatInt(doc.Contact.ID, 10))
		if !strings.Contains(again.stdout, "already erased") {
			t.Errorf("second forget output %q, want already erased", again.stdout)
		}
		for _, ref := range []string{addr, "P1", "06 12 34 56 78"} {
			if r := c.run(ctx, "contacts", "export", ref); r.code != exitUser {
				t.Errorf("export %s after forget: exit %d, want 1\n%s", ref, r.code, r.stdout)
			}
		}
		pii := []string{addr, "+33612345678", "Quillebeuf", "Aurélie"}
		if strings.HasPrefix(dbURL, "sqlite:") {
			grepFiles(t, strings.TrimPrefix(dbURL, "sqlite:"), pii)
		} else {
			grepPostgres(t, dbURL, pii)
		}

		// The address comes back in the next import: a new contact, refused
		// for marketing because its address was erased.
		c.mustRun(ctx, "contacts", "import", "clients.csv", "--mapping", "mapping.yaml")
		var plan struct {
			Planned  int
			ByReason map[string]int `json:"by_reason"`
		}
		// Another campaign: lettre itself reached these people already,
		// and a step reaches each person once.
		if err := os.WriteFile("campaigns/lettre-2.yaml", []byte(strings.Replace(newsletter, "id: lettre", "id: lettre-2", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		decodeJSON(t, c.mustRun(ctx, "plan", "campaigns/lettre-2.yaml", "--json").stdout, &plan)
		if plan.ByReason["erased"] != 2 || plan.Planned != 3 {
			t.Errorf("plan after re-import = %+v, want the erased row and the re-imported address refused as erased, 3 planned", plan)
		}

		// Retention, four years later: B1 clicked six months ago, the
		// seven other live contacts did nothing.
		later := time.Now().AddDate(4, 0, 0)
		st, err := storeopen.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		b1 := findLedger(t, st, "B1")
		if _, err := st.(store.EventStore).RecordEvents(ctx, []store.Event{{LedgerID: b1.ID, Type: store.EventClicked,
			URL: "https://dupont.example/p", At: later.AddDate(0, -6, 0)}}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		var dry struct {
			N int `json:"would_erase"`
		}
		decodeJSON(t, c.runAt(ctx, later, "contacts", "retention", "--dry-run", "--json").stdout, &dry)
		if dry.N != 6 {
			t.Errorf("retention dry run would erase %d, want 6", dry.N)
		}
		out := c.runAt(ctx, later, "contacts", "retention", "--older-than", "3y").stdout
		if !strings.HasPrefix(out, "6 contact(s)") {
			t.Errorf("retention output %q, want 6 erased", out)
		}
		if r := c.run(ctx, "contacts", "export", "B1"); r.code != 0 {
			t.Errorf("B1, who clicked, was erased by retention")
		}
		if r := c.run(ctx, "contacts", "export", "P4"); r.code != exitUser {
			t.Errorf("P4, inactive, was kept by retention")
		}
	})
}

// findLedger returns the ledger row of run 1 for the contact with this
// external id.
func findLedger(t *testing.T, st store.Store, ext string) store.LedgerRow {
	t.Helper()
	cs, err := st.(store.RightsStore).FindContacts(context.Background(), ext)
	if err != nil || len(cs) != 1 {
		t.Fatalf("find %s: %d contacts, %v", ext, len(cs), err)
	}
	rows, err := st.(store.RightsStore).ContactLedger(context.Background(), cs[0].ID)
	if err != nil || len(rows) == 0 {
		t.Fatalf("ledger of %s: %d rows, %v", ext, len(rows), err)
	}
	return rows[0]
}

// grepFiles reads the SQLite database and its WAL byte by byte.
func grepFiles(t *testing.T, path string, needles []string) {
	t.Helper()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds a plain copy of %q after forget", filepath.Base(f), n)
			}
		}
	}
}

// grepPostgres searches every text, JSON and bytea column of every table
// of the database for the needles.
func grepPostgres(t *testing.T, url string, needles []string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, name, typ string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if rows.Err() != nil || len(cols) < 10 {
		t.Fatalf("%d columns found, %v", len(cols), rows.Err())
	}
	for _, c := range cols {
		expr := pgx.Identifier{c.name}.Sanitize() + "::text"
		if c.typ == "bytea" {
			expr = "convert_from(" + pgx.Identifier{c.name}.Sanitize() + ", 'SQL_ASCII')"
		}
		for _, n := range needles {
			var hits int
			q := "SELECT count(*) FROM " + pgx.Identifier{c.table}.Sanitize() + " WHERE strpos(" + expr + ", $1) > 0"
			if err := conn.QueryRow(ctx, q, n).Scan(&hits); err != nil {
				t.Fatalf("%s.%s: %v", c.table, c.name, err)
			}
			if hits > 0 {
				t.Errorf("%s.%s holds a plain copy of %q after forget (%d rows)", c.table, c.name, n, hits)
			}
		}
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
		ok       bool
	}{
		{"years", "3y", 3 * 365 * 24 * time.Hour, true},
		{"months", "18m", 18 * 30 * 24 * time.Hour, true},
		{"days", "90d", 90 * 24 * time.Hour, true},
		{"Go duration", "2160h", 2160 * time.Hour, true},
		{"m means months, not minutes", "90m", 90 * 30 * 24 * time.Hour, true},
		{"zero", "0y", 0, false},
		{"negative duration", "-5h", 0, false},
		{"no unit", "3", 0, false},
		{"garbage", "trois ans", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAge(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseAge(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}
