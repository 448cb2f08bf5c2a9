package testenv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPServer is a real IMAP server (go-imap v2's imapserver over an
// in-memory backend) on 127.0.0.1 with one user and an INBOX, for the
// bounce mailbox poller.
type IMAPServer struct {
	Addr           string // host:port
	User, Password string
	user           *imapmemserver.User
}

// StartIMAP starts an IMAP server for the test (closed by t.Cleanup).
func StartIMAP(t testing.TB) *IMAPServer {
	t.Helper()
	s := &IMAPServer{User: "bounces", Password: "bounce-pw"}
	mem := imapmemserver.New()
	s.user = imapmemserver.NewUser(s.User, s.Password)
	for _, mb := range []string{"INBOX", "Processed"} {
		if err := s.user.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(s.user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true, // loopback only
		Logger:       discardLogger{},
	})
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// URL is the bounce_mailbox URL of the server's INBOX.
func (s *IMAPServer) URL() string {
	return "imap://" + s.User + ":" + s.Password + "@" + s.Addr + "/INBOX"
}

// Deliver appends messages to the INBOX; "\n" line ends become CRLF.
func (s *IMAPServer) Deliver(t testing.TB, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		raw := strings.ReplaceAll(strings.ReplaceAll(m, "\r\n", "\n"), "\n", "\r\n")
		if _, err := s.user.Append("INBOX", bytes.NewReader([]byte(raw)), &imap.AppendOptions{}); err != nil {
			t.Fatalf("imap append: %v", err)
		}
	}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// Status returns the number of messages and of unseen messages of a
// folder.
func (s *IMAPServer) Status(t testing.TB, folder string) (messages, unseen uint32) {
	t.Helper()
	st, err := s.user.Status(folder, &imap.StatusOptions{NumMessages: true, NumUnseen: true})
	if err != nil {
		t.Fatalf("imap status %s: %v", folder, err)
	}
	return *st.NumMessages, *st.NumUnseen
}
