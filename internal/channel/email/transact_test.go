package email

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/textproto"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/testenv"
)

// dotWriterBytes is what textproto's DotWriter sends for data, closing
// line included: the reference writeMessage must match byte for byte.
func dotWriterBytes(t testing.TB, data []byte) []byte {
	var out bytes.Buffer
	w := textproto.NewWriter(bufio.NewWriter(&out))
	dw := w.DotWriter()
	if _, err := dw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := dw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// writeMessageBytes is what writeMessage sends for data, through the
// same kind of writer smtp.Client.Data opens.
func writeMessageBytes(t testing.TB, data []byte) []byte {
	var out bytes.Buffer
	w := textproto.NewWriter(bufio.NewWriterSize(&out, 64))
	dw := w.DotWriter()
	if err := writeMessage(w.W, dw, data); err != nil {
		t.Fatal(err)
	}
	if err := dw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var dotCases = []string{
	"",
	"\n",
	"\r\n",
	".",
	".\r\n",
	"..\r\n",
	"a\r\n.b\r\n.\r\n",
	"bare\nlf\n.dot\n",
	"\r",
	"\r\r\n",
	"\r\r\r\n",
	"x\ry\r\n",
	"no final newline",
	"last line starts with a dot\r\n.tail",
	"ends with CR\r",
	"ends with CR CR\r\r",
	".\n.\n.\n",
	"\n\n\n",
	"\r\n.\r\n\r\n",
	"Subject: x\r\n\r\n" + string(bytes.Repeat([]byte("0123456789"), 50)) + "\r\n.end\r\n",
}

func TestWriteMessageMatchesDotWriter(t *testing.T) {
	for _, c := range dotCases {
		want, got := dotWriterBytes(t, []byte(c)), writeMessageBytes(t, []byte(c))
		if !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", c, got, want)
		}
	}
}

func FuzzWriteMessage(f *testing.F) {
	for _, c := range dotCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, got := dotWriterBytes(t, data), writeMessageBytes(t, data)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", data, got, want)
		}
	})
}

// TestSendLeadingDotsReachTheRelayIntact sends, through a real SMTP
// server, a message whose lines start with dots (quoted-printable leaves
// them as they are, so only the DATA transparency keeps them): the text
// must read back unchanged. A 5xx at RCPT is then followed by a message that goes
// through on the same connection (the RSET after the refusal).
func TestSendLeadingDotsReachTheRelayIntact(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			srv := testenv.StartSMTPWith(t, testenv.SMTPOptions{NoPipelining: !pipelining})
			s := newTestSender(t, srv, 1)
			m := testMessage("DOT-1")
			m.Attachments = nil
			m.HTML = ""
			m.Text = ".\n..two dots\n.one dot\nplain\n.\nend\n"
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages", len(msgs))
			}
			got := parseMail(t, msgs[0].Data)
			if want := strings.ReplaceAll(m.Text, "\n", "\r\n"); got.text != want {
				t.Errorf("text read back = %q, want %q", got.text, want)
			}
			if !bytes.Contains(msgs[0].Data, []byte("\r\n..two dots\r\n.one dot\r\n")) {
				t.Errorf("the leading dots were not kept:\n%s", msgs[0].Data)
			}

			srv.FailRecipient("refused@example.org", 550)
			bad := testMessage("DOT-2")
			bad.To = "refused@example.org"
			if _, err := s.Send(context.Background(), bad); Reason(err) != ReasonHardBounce {
				t.Fatalf("refused recipient: err = %v, reason %q", err, Reason(err))
			}
			if _, err := s.Send(context.Background(), testMessage("DOT-3")); err != nil {
				t.Fatalf("send after a refusal on the same connection: %v", err)
			}
			if n := len(srv.Messages()); n != 2 {
				t.Errorf("server stored %d messages, want 2", n)
			}
			if n := s.pool.openIdle(); n != 1 {
				t.Errorf("%d connections open, want the one kept after the refusal", n)
			}
		})
	}
}
