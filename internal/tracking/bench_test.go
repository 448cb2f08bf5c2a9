package tracking

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
var newsletterHTML = `<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>Le printemps arrive</title></head>
<body style="font-family: Georgia, serif; color: #2b2b2b; max-width: 600px; margin: auto">
  <h1 style="color: #5a7d2b">Le printemps arrive chez Maison Dupont</h1>
  <p>Bonjour Camille,</p>
  <p>Vous faites partie de nos clients fidèles à Lyon :
     pour vous remercier de vos 12 commandes cette année, nous vous réservons
     <strong>15 % de remise</strong> sur la nouvelle collection.</p>
` + strings.Repeat(`  <table role="presentation" style="width: 100%; border-collapse: collapse; margin: 12px 0">
    <tr><td style="padding: 8px; border: 1px solid #e0e0e0">
      <h2 style="font-size: 18px; color: #5a7d2b">Une collection pensée pour vous</h2>
      <p style="font-size: 14px; line-height: 1.5">Des matières naturelles, des couleurs tendres et des coupes
      qui vous accompagnent toute la saison : découvrez nos nouveautés en boutique et en ligne.</p>
      <p><a href="https://dupont.example/printemps" style="color: #5a7d2b">Découvrir la collection</a></p>
    </td></tr>
  </table>
`, 4) + `  <p>À très bientôt,<br>Claire Dupont<br><em>Maison Dupont, Lyon</em></p>
  <hr>
  <p style="font-size: 12px; color: #777">Vous recevez ce message car vous êtes client de Maison Dupont.
     <a href="https://t.example.fr/u/AQQ3ZTE1AgMoNzFkYTU3NzQ0ZTk0MTk1ZWQwMzBlNDk3ZmY1NzE0YjQGmgECYzECczEFZW1haWyAyKrBBg">Se désinscrire</a></p>
</body>
</html>
`

var newsletterText = `Bonjour Camille,

Vous faites partie de nos clients fidèles à Lyon :
pour vous remercier de vos 12 commandes cette année, nous vous réservons
15 % de remise sur la nouvelle collection.
` + strings.Repeat(`
Une collection pensée pour vous : des matières naturelles, des couleurs tendres et des coupes
qui vous accompagnent toute la saison. https://dupont.example/printemps
`, 4) + `
À très bientôt,
Claire Dupont
Maison Dupont, Lyon

--
Vous recevez ce message car vous êtes client de Maison Dupont.
Se désinscrire : https://t.example.fr/u/AQQ3ZTE1AgMoNzFkYTU3NzQ0ZTk0MTk1ZWQwMzBlNDk3ZmY1NzE0YjQGmgECYzECczEFZW1haWyAyKrBBg
`

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
