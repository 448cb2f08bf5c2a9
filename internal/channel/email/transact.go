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
	// spoilt: the session cannot carry another message (a relay that
	// opened DATA after refusing the transaction).
	spoilt bool
	err    error
}

func (e *stageError) Error() string { return "smtp " + e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// sessionCaps are the relay's extensions transact uses, read once when
// the session opens (they hold until it ends).
type sessionCaps struct {
	esc        bool   // ENHANCEDSTATUSCODES
	pipelining bool   // PIPELINING (RFC 2920)
	mailParams string // what go-mail's Mail adds to MAIL FROM: 8BITMIME, SMTPUTF8
}

func capsOf(sc *smtp.Client) sessionCaps {
	var c sessionCaps
	c.esc, _ = sc.Extension("ENHANCEDSTATUSCODES")
	c.pipelining, _ = sc.Extension("PIPELINING")
	if ok, _ := sc.Extension("8BITMIME"); ok {
		c.mailParams += " BODY=8BITMIME"
	}
	if ok, _ := sc.Extension("SMTPUTF8"); ok {
		c.mailParams += " SMTPUTF8"
	}
	return c
}

// transact sends one message, already rendered as data, to rcpts with
// envelope sender from over sc: MAIL, RCPT, DATA, as go-mail's
// Client.Send does, but with the message written by writeMessage instead
// of through the DATA writer one byte at a time, and with the three
// commands sent together when the relay offers PIPELINING (RFC 2920).
// A refused MAIL, RCPT or DATA command is followed by RSET, so the
// session stays usable for the next message; when the RSET fails the
// session is marked spoilt and the sender drops it.
func transact(sc *smtp.Client, caps sessionCaps, timeout time.Duration, from string, rcpts []string, data []byte) error {
	fail := func(stage string, err error) *stageError { return &stageError{stage: stage, esc: caps.esc, err: err} }
	if err := sc.UpdateDeadline(timeout); err != nil {
		return fail("conn", err)
	}
	if caps.pipelining {
		return pipelined(sc, caps, fail, from, rcpts, data)
	}
	if err := sc.Mail(from); err != nil {
		return reset(sc, fail("mail", err))
	}
	for _, r := range rcpts {
		if err := sc.Rcpt(r); err != nil {
			return reset(sc, fail("rcpt", err))
		}
	}
	w, err := sc.Data()
	if err != nil {
		return reset(sc, fail("data", err))
	}
	if err := writeMessage(sc.Text.W, w, data); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("dataclose", err)
	}
	return nil
}

// reset ends the transaction a refusal left open. A session whose RSET
// fails is in an unknown state (a late reply would answer the next
// message's commands): e is marked spoilt so that the sender drops it.
func reset(sc *smtp.Client, e *stageError) error {
	if err := sc.Reset(); err != nil {
		e.spoilt = true
	}
	return e
}

// pipelined is transact's MAIL, RCPT and DATA sent in one write, their
// replies read in order. The message itself goes out only after the
// relay's 354, so what can be ambiguous is unchanged: only a lost reply
// to the final dot. The first refusal decides the error; when MAIL or a
// RCPT was refused the relay refuses DATA too (RFC 2920 §3.1), and RSET
// ends the transaction.
func pipelined(sc *smtp.Client, caps sessionCaps, fail func(string, error) *stageError, from string, rcpts []string, data []byte) error {
	bw := sc.Text.W
	_, _ = bw.WriteString("MAIL FROM:")
	_, _ = bw.WriteString(from)
	_, _ = bw.WriteString(caps.mailParams)
	for _, r := range rcpts {
		_, _ = bw.WriteString("\r\nRCPT TO:")
		_, _ = bw.WriteString(r)
	}
	_, _ = bw.WriteString("\r\nDATA\r\n")
	if err := bw.Flush(); err != nil {
		// No part of the message went out, only commands: as a dead
		// connection at MAIL, safe to send again on a new one.
		return fail("mail", err)
	}
	var refused *stageError
	if _, _, err := sc.Text.ReadResponse(250); err != nil {
		refused = fail("mail", err)
	}
	for range rcpts {
		if _, _, err := sc.Text.ReadResponse(25); err != nil && refused == nil {
			refused = fail("rcpt", err)
		}
	}
	_, _, err := sc.Text.ReadResponse(354)
	if refused != nil {
		if err == nil {
			// DATA opened anyway: the session is dropped rather than
			// ended with a dot, which would deliver an empty message.
			refused.spoilt = true
			return refused
		}
		return reset(sc, refused)
	}
	if err != nil {
		return reset(sc, fail("data", err))
	}
	dot := sc.Text.DotWriter()
	if err := writeMessage(bw, dot, data); err != nil {
		return fail("data", err)
	}
	_ = dot.Close() // a failed write of the dot shows as the reply's loss
	if _, _, err := sc.Text.ReadResponse(250); err != nil {
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
