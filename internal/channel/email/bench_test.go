package email

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/testenv"
)

// benchMessage is about the size of the reference newsletter (~4.7 KB).
func benchMessage() *channel.Message {
	m := testMessage("bench")
	m.Attachments = nil
	m.HTML = "<html><body>" + strings.Repeat("<p>Découvrez nos offres de la saison, sélectionnées pour vous.</p>\n", 40) + "</body></html>"
	m.Text = strings.Repeat("Découvrez nos offres de la saison, sélectionnées pour vous.\n", 20)
	return m
}

// BenchmarkSendSMTP measures Send to a local discarding SMTP server with
// parallel senders sharing one pool, as workers do.
func BenchmarkSendSMTP(b *testing.B) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		opts []Option
	}{
		{name: "plain"},
		{name: "dkim-ed25519", opts: []Option{WithDKIM("shop.example", "sel1", edKey)}},
		{name: "dkim-rsa2048", opts: []Option{WithDKIM("shop.example", "sel1", rsaKey)}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			srv := testenv.StartSMTPWith(b, testenv.SMTPOptions{Discard: true})
			s := newTestSender(b, srv, 20, bc.opts...)
			m := benchMessage()
			b.SetParallelism(16)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Send(context.Background(), m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if srv.Count() < b.N {
				b.Errorf("server counted %d of %d", srv.Count(), b.N)
			}
		})
	}
}

// BenchmarkCompose measures what Send does with a message besides SMTP:
// build it (and sign it with a DKIM key), then render it as Send writes
// it into DATA.
func BenchmarkCompose(b *testing.B) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	key, err := newDKIMKey("shop.example", "sel1", edKey)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		comp composer
	}{
		{"plain", composer{}},
		{"dkim-ed25519", composer{dkim: dkimKeys{"shop.example": key}}},
		{"dkim-correlated", composer{dkim: dkimKeys{"shop.example": key}, corr: fakeCorrelator{}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := benchMessage()
			b.ReportAllocs()
			for b.Loop() {
				msg, _, err := bc.comp.compose(m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := msg.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
