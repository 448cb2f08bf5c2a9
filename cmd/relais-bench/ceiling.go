package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// The physical ceilings of the send benchmarks, measured in the same run
// against the same servers relais sends to: what a bare client reaches
// with nothing of relais in the way.

// bareMessages pre-builds k distinct ~5 KB multipart messages (the email
// benchmark's newsletter with its personalization filled in).
func bareMessages(k int) [][]byte {
	fill := strings.NewReplacer("{{.Contact.FirstName}}", "Camille", "{{if .Contact.Address.City}}", "",
		" à {{.Contact.Address.City}}{{end}}", " à Lyon", "{{.Contact.Attrs.orders_12m}}", "4",
		"{{.Links.Unsubscribe}}", "https://relais.example/u/0123456789abcdef0123456789abcdef")
	html, text := fill.Replace(testenv.NewsletterHTML), fill.Replace(testenv.NewsletterText)
	out := make([][]byte, k)
	for i := range out {
		var b strings.Builder
		fmt.Fprintf(&b, "From: Maison Dupont <news@dupont.example>\r\nTo: <client%d@example.org>\r\n", i)
		fmt.Fprintf(&b, "Subject: Camille, le printemps arrive chez Maison Dupont\r\nMessage-ID: <%d.bench@dupont.example>\r\n", i)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b0\"\r\n\r\n")
		b.WriteString("--b0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
		b.WriteString("\r\n--b0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(strings.ReplaceAll(html, "\n", "\r\n"))
		b.WriteString("\r\n--b0--\r\n")
		out[i] = []byte(b.String())
	}
	return out
}

// bareSMTP pushes n pre-built messages to addr over conns connections
// (one net/smtp client each, MAIL/RCPT/DATA then RSET between messages)
// and returns messages per second.
func bareSMTP(ctx context.Context, addr string, n, conns int) (float64, error) {
	msgs := bareMessages(1000)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conns)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := smtpPush(ctx, addr, msgs, &next, int64(n)); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return 0, fmt.Errorf("bare smtp: %w", err)
	}
	return float64(n) / elapsed.Seconds(), nil
}

func smtpPush(ctx context.Context, addr string, msgs [][]byte, next *atomic.Int64, n int64) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("bench.localhost"); err != nil {
		return err
	}
	for i := next.Add(1); i <= n; i = next.Add(1) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m := msgs[int(i)%len(msgs)]
		if err := c.Mail("bounce@dupont.example"); err != nil {
			return err
		}
		if err := c.Rcpt(fmt.Sprintf("client%d@example.org", int(i)%len(msgs))); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(m); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := c.Reset(); err != nil {
			return err
		}
	}
	return c.Quit()
}

// bareHTTP posts n Messages API create requests (the SMS benchmark's
// text, basic auth, form-encoded) to the Twilio double at base from
// workers goroutines sharing one keep-alive client, and returns requests
// per second (each answered 201).
func bareHTTP(ctx context.Context, base, sid, token string, n, workers int) (float64, error) {
	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	endpoint := base + "/2010-04-01/Accounts/" + sid + "/Messages.json"
	body := strings.ReplaceAll(smsText, "{{.Contact.FirstName}}", "Camille")
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				form := url.Values{"To": {fmt.Sprintf("+336%08d", i%100_000_000)}, "From": {"DUPONT"}, "Body": {body}}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
				if err != nil {
					errc <- err
					return
				}
				req.SetBasicAuth(sid, token)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errc <- fmt.Errorf("bare http: status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}
