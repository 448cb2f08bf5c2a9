package email

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// stageError is a failed step of an SMTP transaction: the step ("conn",
// "mail", "rcpt", "data", "dataclose") and go-mail's error, which holds
// the relay's reply (a *textproto.Error) when there was one.
type stageError struct {
	stage string
	esc   bool // the relay announced ENHANCEDSTATUSCODES
	err   error
}

func (e *stageError) Error() string { return "smtp " + e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// transact sends one message, already rendered as data, to rcpts with
// envelope sender from over sc: MAIL, RCPT, DATA, as go-mail's
// Client.Send does, but with the message written by writeMessage instead
// of through the DATA writer one byte at a time. A refused MAIL or RCPT
// is followed by RSET, so the session stays usable for the next message.
func transact(sc *smtp.Client, timeout time.Duration, from string, rcpts []string, data []byte) error {
	esc, _ := sc.Extension("ENHANCEDSTATUSCODES")
	fail := func(stage string, err error) error { return &stageError{stage: stage, esc: esc, err: err} }
	if err := sc.UpdateDeadline(timeout); err != nil {
		return fail("conn", err)
	}
	if err := sc.Mail(from); err != nil {
		_ = sc.Reset()
		return fail("mail", err)
	}
	for _, r := range rcpts {
		if err := sc.Rcpt(r); err != nil {
			_ = sc.Reset()
			return fail("rcpt", err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return fail("data", err)
	}
	if err := writeMessage(sc.Text.W, w, data); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("dataclose", err)
	}
	return nil
}

// writeMessage writes data as the content of DATA (RFC 5321 §4.5.2):
// exactly the bytes textproto's DotWriter would write for it, dot at the
// start of a line doubled and a bare LF sent as CRLF. Every line but the
// last goes straight to bw, the connection's buffered writer, in runs
// that need no change; the last line goes through dot, the DotWriter that
// smtp.Client.Data opened, so that its Close ends the data with the
// right terminator. dot must not have been written to yet.
func writeMessage(bw *bufio.Writer, dot io.Writer, data []byte) error {
	k := 0
	if len(data) > 1 {
		k = bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	}
	if err := writeDotted(bw, data[:k]); err != nil {
		return err
	}
	_, err := dot.Write(data[k:])
	return err
}

// writeDotted writes src, which is empty or ends with '\n', as a
// DotWriter at the start of a line would. The DotWriter's state machine
// comes down to two rules per line: a leading '.' is doubled, and the
// '\n' gets a '\r' before it unless an odd run of '\r' precedes it (in a
// run of CRs, every second one ends the "CR seen" state).
func writeDotted(bw *bufio.Writer, src []byte) error {
	start := 0 // first byte not yet written
	for line := 0; line < len(src); {
		if src[line] == '.' {
			if _, err := bw.Write(src[start:line]); err != nil {
				return err
			}
			if err := bw.WriteByte('.'); err != nil {
				return err
			}
			start = line
		}
		nl := line + bytes.IndexByte(src[line:], '\n')
		crs := 0
		for j := nl - 1; j >= line && src[j] == '\r'; j-- {
			crs++
		}
		if crs%2 == 0 {
			if _, err := bw.Write(src[start:nl]); err != nil {
				return err
			}
			if err := bw.WriteByte('\r'); err != nil {
				return err
			}
			start = nl
		}
		line = nl + 1
	}
	_, err := bw.Write(src[start:])
	return err
}

// enhancedCode finds an RFC 3463 status ("5.1.1") in a reply, as go-mail
// does for its own send errors.
var enhancedCode = regexp.MustCompile(`\b([245])\.\d{1,3}\.\d{1,3}\b`)
