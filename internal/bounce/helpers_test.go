package bounce_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
	"github.com/relais-dev/relais/internal/tracking"
)

var (
	secret = []byte("test-secret-0123456789abcdef")
	quiet  = slog.New(slog.DiscardHandler)
)

// backends are the store backends every store-touching test runs on.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"sqlite", func(t *testing.T) store.Store {
		t.Helper()
		s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "relais.db"))
		if err != nil {
			t.Fatalf("sqlite: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) store.Store {
		t.Helper()
		s, err := sqlstore.OpenPostgres(t.Context(), testenv.PostgresURL(t))
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// fixture is a store with a run and accepted email rows, and the
// correlator and recorder over it.
type fixture struct {
	st   store.Store
	run  store.Run
	corr *bounce.Correlator
	rec  *bounce.Recorder
	now  time.Time
}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	run, _, err := st.CreateRun(t.Context(), store.Run{CampaignID: "news", RunKey: "k", ContentHash: "h", State: store.RunSending})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	signer, err := tracking.SignerFromSecrets(string(secret))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 3, 20, 10, 0, 0, 0, time.UTC)
	f := &fixture{st: st, run: run, now: now,
		corr: &bounce.Correlator{Signer: signer, Domain: "bounces.dupont.example"}}
	f.rec = &bounce.Recorder{Store: st, Secret: secret, Now: func() time.Time { return f.now }, Log: quiet}
	return f
}

// sent stores a person with email and an accepted email row to them.
func (f *fixture) sent(t *testing.T, ext, email string) store.LedgerRow {
	t.Helper()
	c := &contact.Contact{ExternalID: ext, Email: email, Kind: contact.KindPerson}
	if _, _, err := f.st.UpsertContacts(t.Context(), []*contact.Contact{c}); err != nil {
		t.Fatalf("UpsertContacts: %v", err)
	}
	row := store.LedgerRow{ID: store.LedgerID(f.run.ID, "s1", c.ID, "email"), RunID: f.run.ID, CampaignID: f.run.CampaignID,
		StepID: "s1", ContactID: c.ID, Channel: "email", Purpose: "marketing", State: store.Accepted,
		ProviderID: ext + "@dupont.example", CreatedAt: f.now.Add(-time.Hour), UpdatedAt: f.now.Add(-time.Hour)}
	if _, err := f.st.InsertLedger(t.Context(), []store.LedgerRow{row}); err != nil {
		t.Fatalf("InsertLedger: %v", err)
	}
	return row
}

func (f *fixture) state(t *testing.T, id string) store.LedgerRow {
	t.Helper()
	row, err := f.st.GetLedger(t.Context(), id)
	if err != nil {
		t.Fatalf("GetLedger: %v", err)
	}
	return row
}

// events counts the run's events by type.
func (f *fixture) events(t *testing.T) map[string]int {
	t.Helper()
	evs, err := f.st.ListEvents(t.Context(), store.EventFilter{RunID: f.run.ID})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[e.Type]++
	}
	return out
}

// suppression returns the suppression reason of email ("" when none).
func (f *fixture) suppression(t *testing.T, email string) string {
	t.Helper()
	ok, reason, err := f.st.Suppressed(t.Context(), contact.SuppressionKey(secret, contact.AddrEmail, policy.NormalizeEmail(email)))
	if err != nil {
		t.Fatalf("Suppressed: %v", err)
	}
	if !ok {
		return ""
	}
	return reason
}

// dsn is an RFC 3464 report for a message sent with Return-Path rp.
func dsn(msgID, rp, action, status, diag string) string {
	return fmt.Sprintf(`Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: %[2]s
Subject: Undelivered Mail Returned to Sender
Message-ID: <%[1]s>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net. Your message could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Sat, 20 Mar 2027 09:00:00 +0100

Final-Recipient: rfc822; someone@example.net
Original-Recipient: rfc822;someone@example.net
Action: %[3]s
Status: %[4]s
Remote-MTA: dns; mx2.example.net
Diagnostic-Code: smtp; %[5]s

--BOUND
Content-Type: text/rfc822-headers

Return-Path: <%[2]s>
From: Maison Dupont <news@dupont.example>
To: someone@example.net
Subject: Nouveautés de printemps

--BOUND--
`, msgID, rp, action, status, diag)
}
