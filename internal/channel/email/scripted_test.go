package email

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
)

// scriptedRelay is an SMTP peer on loopback that answers each command
// with the next reply scripted for its verb ("MAIL", "RCPT", "DATA",
// "RSET", "." for the end of the message; default 250, and for DATA 354,
// or 554 once MAIL or RCPT was refused, as RFC 2920 asks), or closes the connection on an empty reply. It records the verbs it
// got, so that tests see exactly what the sender did on the wire after
// a reply go-smtp cannot be made to give.
type scriptedRelay struct {
	addr string
	ext  []string

	mu      sync.Mutex
	replies map[string][]string
	verbs   []string
}

func startScriptedRelay(t *testing.T, ext ...string) *scriptedRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &scriptedRelay{addr: ln.Addr().String(), ext: ext, replies: map[string][]string{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); r.serve(c) }()
		}
	}()
	return r
}

func (r *scriptedRelay) script(verb string, replies ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies[verb] = append(r.replies[verb], replies...)
}

func (r *scriptedRelay) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.verbs...)
}

func (r *scriptedRelay) reply(verb, def string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verbs = append(r.verbs, verb)
	if q := r.replies[verb]; len(q) > 0 {
		r.replies[verb] = q[1:]
		return q[0]
	}
	return def
}

func (r *scriptedRelay) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	send := func(s string) bool {
		if s == "" {
			return false
		}
		_, _ = bw.WriteString(s + "\r\n")
		return bw.Flush() == nil
	}
	send("220 scripted relay")
	inData, refused := false, false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line == "." {
				inData, refused = false, false
				if !send(r.reply(".", "250 2.0.0 queued")) {
					return
				}
			}
			continue
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			lines := append([]string{"scripted"}, r.ext...)
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				_, _ = bw.WriteString("250" + sep + l + "\r\n")
			}
			_ = bw.Flush()
		case "QUIT":
			send("221 bye")
			return
		case "DATA":
			def := "354 go ahead"
			if refused {
				def = "554 5.5.1 no valid recipients"
			}
			rep := r.reply(verb, def)
			if !send(rep) {
				return
			}
			inData = strings.HasPrefix(rep, "354")
		default:
			rep := r.reply(verb, "250 2.0.0 ok")
			if !send(rep) {
				return
			}
			switch {
			case verb == "RSET":
				refused = false
			case rep[0] == '4' || rep[0] == '5':
				refused = true
			}
		}
	}
}

func scriptedSender(t *testing.T, r *scriptedRelay) *Sender {
	t.Helper()
	cfg, err := ParseURL("smtp://" + r.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pool = 1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestTransactionAfterOddReplies covers the replies go-smtp never gives:
// a refused DATA command, a failed RSET, DATA opened after a refusal, a
// malformed reply, 421; each with and without PIPELINING.
func TestTransactionAfterOddReplies(t *testing.T) {
	tests := []struct {
		name   string
		script func(r *scriptedRelay)
		reason string
		// the verbs the relay got with and without PIPELINING, then
		// whether the connection stays pooled for the next message.
		pipe, seq string
		kept      bool
	}{
		{name: "refused DATA command is followed by RSET",
			script: func(r *scriptedRelay) { r.script("DATA", "451 4.3.0 try later") },
			reason: ReasonDeferred, pipe: "MAIL RCPT DATA RSET", seq: "MAIL RCPT DATA RSET", kept: true},
		{name: "a failed RSET drops the session",
			script: func(r *scriptedRelay) { r.script("RCPT", "550 5.1.1 no such user"); r.script("RSET", "") },
			reason: ReasonHardBounce, pipe: "MAIL RCPT DATA RSET", seq: "MAIL RCPT RSET", kept: false},
		{name: "421 drops the session",
			script: func(r *scriptedRelay) { r.script("MAIL", "421 4.3.2 shutting down") },
			reason: ReasonDeferred, pipe: "MAIL RCPT DATA RSET", seq: "MAIL RSET", kept: false},
		{name: "a reply out of place drops the session",
			script: func(r *scriptedRelay) { r.script("MAIL", "354 what") },
			reason: ReasonUnavailable, pipe: "MAIL RCPT DATA", seq: "MAIL RSET", kept: false},
		{name: "a malformed reply is not quoted",
			script: func(r *scriptedRelay) { r.script("MAIL", "alice@example.org is not welcome") },
			reason: ReasonUnavailable, pipe: "MAIL RCPT DATA", seq: "MAIL RSET", kept: false},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("pipelining=%v/%s", pipelining, tt.name), func(t *testing.T) {
				ext := []string{"ENHANCEDSTATUSCODES"}
				if pipelining {
					ext = append(ext, "PIPELINING")
				}
				r := startScriptedRelay(t, ext...)
				s := scriptedSender(t, r)
				tt.script(r)
				_, err := s.Send(context.Background(), testMessage("O-1"))
				if Reason(err) != tt.reason || errors.Is(err, channel.ErrAmbiguous) {
					t.Fatalf("err = %v (reason %q), want %q, not ambiguous", err, Reason(err), tt.reason)
				}
				if strings.Contains(err.Error(), "alice") {
					t.Errorf("error quotes the relay: %v", err)
				}
				want := tt.seq
				if pipelining {
					want = tt.pipe
				}
				if got := strings.Join(r.got(), " "); got != want {
					t.Errorf("relay got %s, want %s", got, want)
				}
				if kept := s.pool.openIdle() == 1; kept != tt.kept {
					t.Errorf("connection kept = %v, want %v", kept, tt.kept)
				}
			})
		}
	}
}

// TestDataOpenedAfterRefusalSendsNothing: a pipelining relay that refuses
// MAIL but still answers 354 to DATA gets its connection closed, never
// an empty message.
func TestDataOpenedAfterRefusalSendsNothing(t *testing.T) {
	r := startScriptedRelay(t, "PIPELINING")
	s := scriptedSender(t, r)
	r.script("MAIL", "550 5.7.1 sender refused")
	r.script("DATA", "354 go ahead anyway")
	_, err := s.Send(context.Background(), testMessage("O-2"))
	if Reason(err) != ReasonRejected {
		t.Fatalf("err = %v, want %s", err, ReasonRejected)
	}
	if s.pool.openIdle() != 0 {
		t.Error("the connection left in DATA was kept")
	}
	if _, err := s.Send(context.Background(), testMessage("O-3")); err != nil {
		t.Fatalf("next send: %v", err)
	}
	if got := strings.Join(r.got(), " "); got != "MAIL RCPT DATA MAIL RCPT DATA ." {
		t.Errorf("relay got %s, want one message ended, the first never", got)
	}
}
