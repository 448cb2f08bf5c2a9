package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPOptions configures an in-process SMTP server.
type SMTPOptions struct {
	// Discard counts accepted messages without keeping them, so that
	// benchmarks of millions of messages run in constant memory. Messages
	// then returns nil.
	Discard bool
	// TLSConfig, when set, makes the server advertise STARTTLS, or speak
	// TLS from the first byte with ImplicitTLS (an smtps:// relay).
	TLSConfig   *tls.Config
	ImplicitTLS bool
	// Username and Password, when Username is set, make the server
	// advertise AUTH PLAIN and require it before MAIL (insecure auth is
	// allowed because tests run on loopback without TLS).
	Username, Password string
	// OnAccept, when set, is called with every accepted message, its
	// data included (also under Discard), under the server's lock: tests counting tens of
	// thousands of messages keep only what they check.
	OnAccept func(ReceivedMessage)
	// NoPipelining leaves PIPELINING (RFC 2920) out of the EHLO reply, as
	// older relays do, so that clients send one command at a time. It
	// applies to sessions without TLS.
	NoPipelining bool
}

// ReceivedMessage is one message accepted by the test server: the envelope
// and the raw bytes as the client sent them (CRLF line endings).
type ReceivedMessage struct {
	From string
	To   []string
	Data []byte
}

// SMTPServer is a real SMTP server (emersion/go-smtp) listening on
// 127.0.0.1, recording what it accepts and failing on request, so that
// senders are tested over real connections. It is safe for concurrent use.
type SMTPServer struct {
	opts SMTPOptions
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}

	count atomic.Int64
	conns atomic.Int64

	mu       sync.Mutex
	msgs     []ReceivedMessage
	failRcpt map[string]int
	failData []int
	hold     *dataHold
	loseData int
	reject   []int // replies to the next MAIL commands
	rejected int
	notify   chan struct{} // closed and replaced on every accepted message

	hang *hangListener

	refuseAuth atomic.Bool
	authFails  atomic.Int64
}

// NewSMTPServer starts a server on a free 127.0.0.1 port and serves it in a
// goroutine until Close. It works outside tests (benchmarks, tools). It
// returns an error when no port can be bound.
func NewSMTPServer(opts SMTPOptions) (*SMTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp test server: listen: %w", err)
	}
	hl := &hangListener{Listener: ln, parked: map[net.Conn]struct{}{}}
	ln = hl
	if opts.ImplicitTLS {
		if opts.TLSConfig == nil {
			_ = ln.Close()
			return nil, errors.New("smtp test server: ImplicitTLS needs a TLSConfig")
		}
		ln = tls.NewListener(ln, opts.TLSConfig)
	}
	if opts.NoPipelining {
		ln = noPipeliningListener{ln}
	}
	s := &SMTPServer{
		opts:     opts,
		ln:       ln,
		hang:     hl,
		done:     make(chan struct{}),
		failRcpt: map[string]int{},
		notify:   make(chan struct{}),
	}
	srv := smtp.NewServer(&smtpBackend{s: s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxRecipients = 100
	srv.MaxMessageBytes = 64 << 20
	srv.EnableSMTPUTF8 = true
	srv.TLSConfig = opts.TLSConfig
	s.srv = srv
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// noPipeliningListener hands out connections whose writes drop the
// EHLO reply's PIPELINING line (go-smtp always offers it, never last).
type noPipeliningListener struct{ net.Listener }

func (l noPipeliningListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return noPipeliningConn{c}, nil
}

type noPipeliningConn struct{ net.Conn }

var pipeliningLine = []byte("250-PIPELINING\r\n")

func (c noPipeliningConn) Write(p []byte) (int, error) {
	if !bytes.Contains(p, pipeliningLine) {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(bytes.Replace(p, pipeliningLine, nil, 1)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// StartSMTP starts a recording server for t and closes it on cleanup.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	return StartSMTPWith(t, SMTPOptions{})
}

// StartSMTPWith starts a server with opts for t and closes it on cleanup.
func StartSMTPWith(t testing.TB, opts SMTPOptions) *SMTPServer {
	t.Helper()
	s, err := NewSMTPServer(opts)
	if err != nil {
		Missing(t, "smtp", err.Error())
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Addr is the server's "127.0.0.1:port".
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// URL is an RELAIS_SMTP_URL for this server, with the credentials when the
// server requires them: smtp://…?tls=none for a plain server,
// tls=starttls when it has a TLSConfig, smtps:// with ImplicitTLS.
func (s *SMTPServer) URL() string {
	userinfo := ""
	if s.opts.Username != "" {
		userinfo = s.opts.Username + ":" + s.opts.Password + "@"
	}
	switch {
	case s.opts.ImplicitTLS:
		return "smtps://" + userinfo + s.Addr()
	case s.opts.TLSConfig != nil:
		return "smtp://" + userinfo + s.Addr() + "?tls=starttls"
	}
	return "smtp://" + userinfo + s.Addr() + "?tls=none"
}

// Close stops the server and drops open connections.
func (s *SMTPServer) Close() error {
	err := s.srv.Close()
	// go-smtp closes only the listeners Serve has registered: when Close
	// comes before the Serve goroutine ran, Accept would block forever.
	_ = s.ln.Close()
	s.hang.set(false)
	<-s.done
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Messages returns a copy of the accepted messages in arrival order (nil
// with Discard).
func (s *SMTPServer) Messages() []ReceivedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedMessage(nil), s.msgs...)
}

// Count is the number of accepted messages.
func (s *SMTPServer) Count() int { return int(s.count.Load()) }

// Connections is the number of SMTP connections opened so far, so that
// tests can prove a client reuses its connections.
func (s *SMTPServer) Connections() int { return int(s.conns.Load()) }

// WaitFor waits until at least n messages were accepted, and reports
// whether they were before timeout.
func (s *SMTPServer) WaitFor(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.notify
		s.mu.Unlock()
		if s.Count() >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return s.Count() >= n
		}
	}
}

// FailRecipient makes RCPT TO addr (case-insensitive) fail with code, for
// example 550 (unknown user) or 452 (mailbox full). Code 0 removes it.
func (s *SMTPServer) FailRecipient(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.failRcpt, strings.ToLower(addr))
		return
	}
	s.failRcpt[strings.ToLower(addr)] = code
}

// FailNext makes the next n DATA commands fail with code (after the body
// was read), for example 451 once to test a retry.
func (s *SMTPServer) FailNext(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failData = append(s.failData, code)
	}
}

// LoseReplyAfterData makes the next n DATA commands keep the message (it
// counts as received) and then drop the connection before the 250 reply:
// the client cannot know that the message was taken.
func (s *SMTPServer) LoseReplyAfterData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseData += n
}

// RejectNext makes the next n MAIL commands fail with code before any
// message is handed over, as a relay under load does: 421 (service not
// available, the connection is then closed, as RFC 5321 says) or 451
// (local error, try again later).
func (s *SMTPServer) RejectNext(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.reject = append(s.reject, code)
	}
}

// Rejected is the number of MAIL commands refused by RejectNext so far.
func (s *SMTPServer) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Hang makes the server accept new connections and never answer on them
// (no greeting), as a relay stuck behind a firewall or overloaded does,
// until Hang(false), which closes the parked connections. Open
// connections are not affected.
func (s *SMTPServer) Hang(on bool) { s.hang.set(on) }

// Hung is the number of connections parked by Hang so far.
func (s *SMTPServer) Hung() int { return int(s.hang.count.Load()) }

// hangListener parks accepted connections while hanging.
type hangListener struct {
	net.Listener
	count  atomic.Int64
	mu     sync.Mutex
	on     bool
	parked map[net.Conn]struct{}
}

func (l *hangListener) set(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = on
	if !on {
		for c := range l.parked {
			_ = c.Close()
		}
		clear(l.parked)
	}
}

// Accept returns the next connection that is not parked.
func (l *hangListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		on := l.on
		if on {
			l.parked[c] = struct{}{}
		}
		l.mu.Unlock()
		if !on {
			return c, nil
		}
		l.count.Add(1)
	}
}

// RefuseAuth makes every AUTH fail with 535 5.7.8 while on, whatever the
// credentials, as a relay does after a password change; off accepts the
// configured credentials again.
func (s *SMTPServer) RefuseAuth(on bool) { s.refuseAuth.Store(on) }

// AuthFailures is the number of AUTH exchanges refused so far.
func (s *SMTPServer) AuthFailures() int { return int(s.authFails.Load()) }

// dataHold parks DATA commands until released.
type dataHold struct {
	entered chan struct{} // receives once per parked DATA
	release chan struct{}
}

// HoldData makes every following DATA command wait, after the body was
// read and before the reply, until release is called; entered receives
// once for each DATA that reached that point. It lets tests cancel a send
// while the relay is "processing" it, without sleeping.
func (s *SMTPServer) HoldData() (entered <-chan struct{}, release func()) {
	h := &dataHold{entered: make(chan struct{}, 100), release: make(chan struct{})}
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	var once sync.Once
	return h.entered, func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == h {
				s.hold = nil
			}
			s.mu.Unlock()
			close(h.release)
		})
	}
}

func (s *SMTPServer) accept(m ReceivedMessage) {
	s.mu.Lock()
	if !s.opts.Discard {
		s.msgs = append(s.msgs, m)
	}
	if s.opts.OnAccept != nil {
		s.opts.OnAccept(m)
	}
	s.count.Add(1)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

func smtpErr(code int, msg string) *smtp.SMTPError {
	class := code / 100
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, 0, 0}, Message: msg}
}

type smtpBackend struct{ s *SMTPServer }

// NewSession counts connections and starts a session per connection.
func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	// go-smtp starts a new session after STARTTLS on the same connection:
	// count a connection once, at its first session.
	if !isTLS || b.s.opts.ImplicitTLS {
		b.s.conns.Add(1)
	}
	return &smtpSession{s: b.s, c: c, authed: b.s.opts.Username == "", tls: isTLS}, nil
}

type smtpSession struct {
	s      *SMTPServer
	c      *smtp.Conn
	authed bool
	tls    bool // the connection was encrypted when the session began
	from   string
	to     []string
	// inMail: a MAIL was accepted and the transaction has not ended
	// (DATA or RSET); a second MAIL is refused, as Postfix does.
	inMail bool
}

var _ smtp.AuthSession = (*smtpSession)(nil)

// AuthMechanisms offers PLAIN only when credentials are configured.
func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks PLAIN credentials against the options.
func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if ss.s.refuseAuth.Load() || user != ss.s.opts.Username || pass != ss.s.opts.Password {
			ss.s.authFails.Add(1)
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

// Mail starts a transaction, refusing it before AUTH when required and
// as RejectNext asks.
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		// 530 5.7.0, as Postfix and most relays answer (go-smtp's own
		// ErrAuthRequired is a 502).
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if ss.inMail {
		return smtpErr(503, "nested MAIL command")
	}
	ss.s.mu.Lock()
	code := 0
	if len(ss.s.reject) > 0 {
		code, ss.s.reject = ss.s.reject[0], ss.s.reject[1:]
		ss.s.rejected++
	}
	ss.s.mu.Unlock()
	if code != 0 {
		if code == 421 {
			// The reply is written when Mail returns; the connection
			// closes right after, as a relay shutting down does.
			conn := ss.c.Conn()
			time.AfterFunc(100*time.Millisecond, func() { _ = conn.Close() })
		}
		return smtpErr(code, "service busy, try again later (test server)")
	}
	ss.from = from
	ss.to = nil
	ss.inMail = true
	return nil
}

// Rcpt applies FailRecipient, then STARTTLS enforcement.
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	code, fail := ss.s.failRcpt[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if fail {
		return smtpErr(code, "recipient refused by test server")
	}
	if ss.s.opts.TLSConfig != nil && !ss.tls {
		return smtpErr(530, "must issue STARTTLS first")
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads the body, applies HoldData and FailNext, then records it;
// LoseReplyAfterData then drops the connection instead of answering.
func (ss *smtpSession) Data(r io.Reader) error {
	var data []byte
	var err error
	if ss.s.opts.Discard && ss.s.opts.OnAccept == nil {
		_, err = io.Copy(io.Discard, r)
	} else {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	hold := ss.s.hold
	ss.s.mu.Unlock()
	if hold != nil {
		select {
		case hold.entered <- struct{}{}:
		default:
		}
		<-hold.release
	}
	ss.s.mu.Lock()
	code := 0
	if len(ss.s.failData) > 0 {
		code = ss.s.failData[0]
		ss.s.failData = ss.s.failData[1:]
	}
	ss.s.mu.Unlock()
	if code != 0 {
		return smtpErr(code, "message refused by test server")
	}
	ss.s.mu.Lock()
	lose := ss.s.loseData > 0
	if lose {
		ss.s.loseData--
	}
	ss.s.mu.Unlock()
	ss.s.accept(ReceivedMessage{From: ss.from, To: ss.to, Data: data})
	if lose {
		_ = ss.c.Conn().Close()
	}
	return nil
}

// Reset forgets the current transaction.
func (ss *smtpSession) Reset() {
	ss.from = ""
	ss.to = nil
	ss.inMail = false
}

// Logout has nothing to free.
func (ss *smtpSession) Logout() error { return nil }

// LoopbackTLS returns a server configuration with a fresh self-signed
// certificate for 127.0.0.1 and localhost, and a client configuration that
// trusts only it, so that TLS paths are tested without disabling
// verification.
func LoopbackTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("tls key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "relais test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("tls certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tls certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return server, client
}
