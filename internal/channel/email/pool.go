package email

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// ErrClosed is returned by Send after Close. It is temporary: the job is
// retried by another worker or after restart.
var ErrClosed = errors.New("email: sender is closed")

// conn is one pooled SMTP session: a go-mail client (the dialing, TLS
// and AUTH settings) and the session it opened, kept open across
// messages. Only the goroutine that acquired it uses it, except abort,
// which a context cancellation calls.
type conn struct {
	client   *mail.Client
	session  *smtp.Client // nil until dialed
	caps     sessionCaps  // session's extensions
	lastUsed time.Time
	// fresh: dialed by Prepare for the message about to be sent (a
	// failure on it is not a stale pooled connection).
	fresh bool

	mu  sync.Mutex
	raw net.Conn // the connection under client, to abort it on cancel
}

// dial is the client's DialContextFunc: it remembers the connection so
// that a cancelled context can interrupt a command in flight, and does
// implicit TLS itself because go-mail only does it with its own dialer.
func (c *conn) dial(tlsCfg *tls.Config) mail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tlsCfg != nil {
			tc := tls.Client(nc, tlsCfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = nc.Close()
				return nil, err
			}
			nc = tc
		}
		c.mu.Lock()
		c.raw = nc
		c.mu.Unlock()
		return nc, nil
	}
}

// open dials the relay and greets it (EHLO, STARTTLS, AUTH as
// configured).
func (c *conn) open(ctx context.Context) error {
	sc, err := c.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		c.drop()
		return err
	}
	c.session, c.caps = sc, capsOf(sc)
	return nil
}

// abort makes any blocked read or write on the connection fail now.
func (c *conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil {
		_ = c.raw.SetDeadline(time.Unix(1, 0))
	}
}

// connected reports whether the client holds a connection.
func (c *conn) connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.raw != nil
}

// drop closes the connection without the QUIT exchange, for connections
// that are broken or were aborted.
func (c *conn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil {
		_ = c.raw.Close()
		c.raw = nil
	}
	c.session = nil
}

// quit ends the session politely, for idle connections and Close.
func (c *conn) quit() {
	c.mu.Lock()
	raw := c.raw
	c.mu.Unlock()
	if raw != nil && c.session != nil {
		_ = raw.SetDeadline(time.Now().Add(2 * time.Second))
		_ = c.client.CloseWithSMTPClient(c.session)
	}
	c.drop()
}

// pool hands out at most size conns. Idle conns are kept on a stack so that
// a light load reuses the same few connections and the rest time out.
type pool struct {
	size    int
	idleTTL time.Duration
	newConn func() (*conn, error)

	sem chan struct{}

	mu      sync.Mutex
	idle    []*conn
	closed  bool
	stop    chan struct{}
	janitor sync.Once
	wg      sync.WaitGroup
}

func newPool(size int, idleTTL time.Duration, newConn func() (*conn, error)) *pool {
	return &pool{
		size: size, idleTTL: idleTTL, newConn: newConn,
		sem: make(chan struct{}, size), stop: make(chan struct{}),
	}
}

// get waits for a free slot and returns an idle conn or a new, not yet
// dialed one. The caller must put it back.
func (p *pool) get(ctx context.Context) (*conn, error) {
	p.janitor.Do(p.startJanitor)
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if time.Since(c.lastUsed) > p.idleTTL {
			c.quit()
		}
		return c, nil
	}
	p.mu.Unlock()
	c, err := p.newConn()
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// put returns c to the pool; a broken c is dropped first so the next user
// redials.
func (p *pool) put(c *conn, broken bool) {
	if broken {
		c.drop()
	}
	c.lastUsed = time.Now()
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if closed {
		c.quit()
	}
	<-p.sem
}

func (p *pool) startJanitor() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.idleTTL / 2)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.closeIdle(time.Now().Add(-p.idleTTL))
			}
		}
	}()
}

// closeIdle quits idle connections unused since before.
func (p *pool) closeIdle(before time.Time) {
	p.mu.Lock()
	var stale []*conn
	for _, c := range p.idle {
		if c.connected() && c.lastUsed.Before(before) {
			stale = append(stale, c)
		}
	}
	p.mu.Unlock()
	// Quit outside the lock, holding a slot so that the pool never has
	// more than size connections open, even while one is being quit.
	for _, c := range stale {
		select {
		case p.sem <- struct{}{}:
		default:
			return // all slots busy: the pool is not idle after all
		}
		if p.take(c) {
			c.quit()
			p.mu.Lock()
			if !p.closed {
				p.idle = append([]*conn{c}, p.idle...)
			}
			p.mu.Unlock()
		}
		<-p.sem
	}
}

// take removes c from the idle list, reporting whether it was there.
func (p *pool) take(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}

// close quits every idle connection and makes get fail; connections in use
// are quit when put back.
func (p *pool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
	for _, c := range idle {
		c.quit()
	}
	return nil
}

// open returns the number of dialed connections (idle ones only), for tests.
func (p *pool) openIdle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.idle {
		if c.connected() {
			n++
		}
	}
	return n
}
