package tracking

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

type nopSink struct{}

func (nopSink) Record(context.Context, []Event) error { return nil }

func benchTokens(b *testing.B, s *Signer, n int) []string {
	b.Helper()
	toks := make([]string, n)
	for i := range toks {
		c := sampleClaims(PurposeOpen)
		c.ContactID = int64(i)
		c.IssuedAt = time.Now().Add(-time.Hour)
		toks[i] = s.Sign(c)
	}
	return toks
}

// BenchmarkPixel measures the open pixel handler alone (verify, classify,
// batch) with a sink that discards, in requests per second.
func BenchmarkPixel(b *testing.B) {
	s := newSigner(b, "a-secret-of-at-least-16-bytes")
	bat := NewBatcher(nopSink{}, 0, 0)
	defer bat.Close()
	h := NewHandler(Deps{Signer: s, Events: bat})
	toks := benchTokens(b, s, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			req := httptest.NewRequest("GET", "/o/"+toks[i%len(toks)], nil)
			req.Header.Set("User-Agent", browserUA)
			clear(w.h)
			h.ServeHTTP(w, req)
			i++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	if bat.Dropped() > 0 {
		b.ReportMetric(float64(bat.Dropped()), "dropped")
	}
}

// BenchmarkPixelLoopback measures GET /o over real HTTP on 127.0.0.1 with
// every event persisted into SQLite (goal: ≥ 10,000 req/s).
func BenchmarkPixelLoopback(b *testing.B) {
	s := newSigner(b, "a-secret-of-at-least-16-bytes")
	sink := newSQLiteSink(b)
	bat := NewBatcher(sink, 0, 0)
	srv := httptest.NewServer(NewHandler(Deps{Signer: s, Events: bat}))
	defer srv.Close()
	toks := benchTokens(b, s, 1024)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest("GET", srv.URL+"/o/"+toks[i%len(toks)], nil)
			req.Header.Set("User-Agent", browserUA)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			i++
		}
	})
	bat.Close() // persisted means flushed: the close is part of the cost
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	if n := sink.count(b); uint64(n) != bat.Recorded() || uint64(n)+bat.Dropped() != uint64(b.N) {
		b.Fatalf("persisted %d, recorded %d, dropped %d of %d", n, bat.Recorded(), bat.Dropped(), b.N)
	}
	b.ReportMetric(float64(bat.Dropped()), "dropped")
}

// BenchmarkDecorate measures the per-email cost of click rewriting and the
// pixel on a newsletter-sized HTML part.
func BenchmarkDecorate(b *testing.B) {
	s := newSigner(b, "a-secret-of-at-least-16-bytes")
	l, err := NewLinks(s, "https://t.example.fr")
	if err != nil {
		b.Fatal(err)
	}
	row := sampleRow()
	html := "<html><body>" + strings.Repeat(`<p>Texte <a href="https://shop.example/p?id=1&amp;utm=x">produit</a> et <a href="mailto:a@b.c">mail</a></p>`, 20) + "</body></html>"
	text := strings.Repeat("Voir https://shop.example/p?id=1 maintenant.\n", 20)
	b.ReportAllocs()
	for b.Loop() {
		m := emailMessage(html, text)
		l.Decorate(m, row, true)
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// newsletterHTML and newsletterText are a rendered newsletter of about
// 3 KB of HTML (five links, one of them the unsubscribe link) and its
// text part, the size of a typical marketing email.
// newsletterFill renders the shared newsletter templates for one contact.
var newsletterFill = strings.NewReplacer(
	"{{.Contact.FirstName}}", "Camille",
	"{{if .Contact.Address.City}} à {{.Contact.Address.City}}{{end}}", " à Lyon",
	"{{.Contact.Attrs.orders_12m}}", "12",
	"{{.Links.Unsubscribe}}", "https://t.example.fr/u/AQQ3ZTE1AgMoNzFkYTU3NzQ0ZTk0MTk1ZWQwMzBlNDk3ZmY1NzE0YjQGmgECYzECczEFZW1haWyAyKrBBg",
)

var (
	newsletterHTML = newsletterFill.Replace(testenv.NewsletterHTML)
	newsletterText = newsletterFill.Replace(testenv.NewsletterText)
)

// BenchmarkDecorateNewsletter measures Decorate on a typical newsletter
// as the composer leaves it (its template's link hosts recorded).
func BenchmarkDecorateNewsletter(b *testing.B) {
	s := newSigner(b, "a-secret-of-at-least-16-bytes")
	l, err := NewLinks(s, "https://t.example.fr")
	if err != nil {
		b.Fatal(err)
	}
	row := sampleRow()
	hosts := []string{"dupont.example"}
	b.ReportAllocs()
	for b.Loop() {
		m := emailMessage(newsletterHTML, newsletterText)
		m.LinkHosts = hosts
		l.Decorate(m, row, true)
	}
}

// BenchmarkSign measures signing one click token.
func BenchmarkSign(b *testing.B) {
	s := newSigner(b, "a-secret-of-at-least-16-bytes")
	c := sampleClaims(PurposeClick)
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(c)
	}
}
