package bounce_test

import (
	"testing"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
)

// TestPollMailbox: three DSNs (a hard bounce, a soft one, one for a
// message relais did not send) in an IMAP mailbox; one poll records
// exactly the hard and the soft bounce and leaves the third alone; a
// second poll changes nothing.
func TestPollMailbox(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			hard := f.sent(t, "C1", "alice@example.net")
			soft := f.sent(t, "C2", "bob@example.net")
			other := f.sent(t, "C3", "carol@example.net")
			srv := testenv.StartIMAP(t)
			srv.Deliver(t,
				dsn("dsn1@mx.example.net", f.corr.ReturnPath(hard.ID, "dupont.example"), "failed", "5.1.1", "550 5.1.1 <someone@example.net>: Recipient address rejected: User unknown"),
				dsn("dsn2@mx.example.net", f.corr.ReturnPath(soft.ID, "dupont.example"), "failed", "4.4.7", "451 4.4.7 delivery time expired"),
				dsn("dsn3@mx.example.net", "newsletter@another.example", "failed", "5.1.1", "550 5.1.1 user unknown"),
			)
			mb, err := bounce.ParseMailbox(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			p := &bounce.Poller{Mailbox: mb, Correlator: f.corr, Recorder: f.rec, Log: quiet}

			res, err := p.Poll(t.Context())
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if res.Read != 3 || res.Hard != 1 || res.Soft != 1 || res.Unmatched != 1 || res.Repeated != 0 || len(res.UnmatchedU) != 1 {
				t.Fatalf("first poll: %+v, want 3 read, 1 hard, 1 soft, 1 unmatched", res)
			}
			check := func() {
				t.Helper()
				if r := f.state(t, hard.ID); r.State != store.Bounced || r.Reason != "5.1.1" {
					t.Errorf("hard row: %s %q, want bounced 5.1.1", r.State, r.Reason)
				}
				if r := f.state(t, soft.ID); r.State != store.Accepted {
					t.Errorf("soft row: %s, want accepted", r.State)
				}
				if r := f.state(t, other.ID); r.State != store.Accepted {
					t.Errorf("unrelated row: %s, want accepted", r.State)
				}
				if got := f.suppression(t, "alice@example.net"); got != "hard_bounce" {
					t.Errorf("alice suppression %q, want hard_bounce", got)
				}
				for _, e := range []string{"bob@example.net", "carol@example.net"} {
					if got := f.suppression(t, e); got != "" {
						t.Errorf("%s suppressed (%s)", e, got)
					}
				}
				ev := f.events(t)
				if ev[store.EventBounced] != 1 || ev[store.EventSoftBounced] != 1 || len(ev) != 2 {
					t.Errorf("events %v, want 1 bounced and 1 soft_bounced", ev)
				}
			}
			check()

			res, err = p.Poll(t.Context())
			if err != nil {
				t.Fatalf("second Poll: %v", err)
			}
			if res.Read != 0 || res.Hard+res.Soft+res.Unmatched+res.Repeated != 0 {
				t.Fatalf("second poll: %+v, want nothing", res)
			}
			check()
		})
	}
}

// TestPollMovesProcessed: with ?processed=Processed the applied reports
// move there (read); the unrelated message stays in INBOX, unread.
func TestPollMovesProcessed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			hard := f.sent(t, "C1", "alice@example.net")
			srv := testenv.StartIMAP(t)
			srv.Deliver(t,
				dsn("dsn1@mx.example.net", f.corr.ReturnPath(hard.ID, "dupont.example"), "failed", "5.1.1", "550 5.1.1 user unknown"),
				"From: alice@example.net\nSubject: question\nMessage-ID: <q@example.net>\n\nBonjour, une question sur ma commande.\n",
			)
			mb, err := bounce.ParseMailbox(srv.URL() + "?processed=Processed")
			if err != nil {
				t.Fatal(err)
			}
			p := &bounce.Poller{Mailbox: mb, Correlator: f.corr, Recorder: f.rec, Log: quiet}
			res, err := p.Poll(t.Context())
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if res.Read != 2 || res.Hard != 1 || res.Unmatched != 1 {
				t.Fatalf("poll: %+v", res)
			}
			if n, unseen := srv.Status(t, "INBOX"); n != 1 || unseen != 1 {
				t.Errorf("INBOX: %d messages, %d unseen; want the human message, unread", n, unseen)
			}
			if n, unseen := srv.Status(t, "Processed"); n != 1 || unseen != 0 {
				t.Errorf("Processed: %d messages, %d unseen; want the bounce, read", n, unseen)
			}
		})
	}
}
