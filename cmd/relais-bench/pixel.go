package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
)

const pixelWhat = `
The open-pixel endpoint as relais serves it: ` + "`tracking.NewHandler`" + ` (token verification, machine-open
flagging, the GIF) with its ` + "`tracking.Batcher`" + ` flushing to the real SQLite store's
` + "`RecordEvents`" + ` (store.EventStore), on an HTTP server on 127.0.0.1. The store holds a real run with
ledger rows; every request carries a valid signed open token of one of them. A Go load generator in the
same process keeps N keep-alive connections busy for a fixed duration; after the batcher's final flush
the number of events in the store is compared with the number of answered requests.
**Baseline**: the same load generator against a bare ` + "`net/http`" + ` handler that only writes the same
43-byte GIF (no token, no event). Client and server share the machine's cores in both measurements.
**Target**: ≥ 10,000 requests/s with events persisted.`

// mailClientUA is what the load generator presents, a desktop mail client.
const mailClientUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0"

// eventSink adapts the store's EventStore to the tracking batcher.
type eventSink struct{ s store.EventStore }

func (k eventSink) Record(ctx context.Context, evs []tracking.Event) error {
	out := make([]store.Event, len(evs))
	for i, e := range evs {
		out[i] = store.Event{LedgerID: e.LedgerID, Type: e.Type, Machine: e.Machine, URL: e.URL, At: e.At}
	}
	_, err := k.s.RecordEvents(ctx, out)
	return err
}

func benchPixel(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "pixel", Title: "Open pixel on loopback with events persisted", What: pixelWhat}
	dur := time.Duration(e.size(10, 5)) * time.Second
	const clients = 32
	dir, err := e.sub("pixel")
	if err != nil {
		return sec, err
	}
	st, err := openStore(ctx, "sqlite:"+filepath.Join(dir, "relais.db"))
	if err != nil {
		return sec, err
	}
	defer st.Close()
	es, ok := st.(store.EventStore)
	if !ok {
		sec.Results = append(sec.Results, notMeasured("pixel", "open pixel requests/s, events persisted", "≥ 10,000", "not measured: events store missing"))
		return sec, nil
	}
	signer, err := tracking.SignerFromSecrets(benchSecret)
	if err != nil {
		return sec, err
	}
	tokens, err := pixelTokens(ctx, st, signer, 2000)
	if err != nil {
		return sec, err
	}
	batcher := tracking.NewBatcher(eventSink{es}, 0, 0)
	h := tracking.NewHandler(tracking.Deps{Signer: signer, Events: batcher})
	e.progress("pixel: %d keep-alive clients for %s against the tracking handler", clients, dur)
	n, err := loadTest(ctx, h, clients, dur, func(i int) string { return "/o/" + tokens[i%len(tokens)] + ".gif" })
	if err != nil {
		batcher.Close()
		return sec, err
	}
	if err := batcher.Close(); err != nil {
		return sec, fmt.Errorf("batcher close: %w", err)
	}
	stored, err := countEvents(ctx, es)
	if err != nil {
		return sec, err
	}
	rate := float64(n) / dur.Seconds()
	e.progress("pixel: baseline, bare GIF handler")
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write(gif)
	})
	bn, err := loadTest(ctx, bare, clients, dur, func(int) string { return "/o/x.gif" })
	if err != nil {
		return sec, err
	}
	bareRate := float64(bn) / dur.Seconds()
	sec.Details = append(sec.Details,
		fmt.Sprintf("%d clients × %s: %s requests answered; batcher recorded %d, dropped %d, failed %d; %s opened events in the store",
			clients, dur, groupThousands(fmt.Sprint(n)), batcher.Recorded(), batcher.Dropped(), batcher.Failed(), groupThousands(fmt.Sprint(stored))),
		fmt.Sprintf("baseline: bare GIF handler, same load generator: %s requests/s", fmtNum(bareRate)),
	)
	r := check("pixel", "open pixel requests/s, events persisted", rate, "req/s", "≥ 10,000", bareRate, "bare net/http GIF handler",
		func(v, _ float64) bool { return v >= 10000 })
	// Requests cut by the deadline may record an event the client never
	// counted, so the check is on the batcher's own counts: nothing
	// dropped or failed, and everything it recorded is in the store.
	switch {
	case batcher.Dropped() > 0 || batcher.Failed() > 0:
		r.Status = statusFail
		r.Note = fmt.Sprintf("events lost: the batcher dropped %d and failed %d (its buffer filled faster than the store wrote)", batcher.Dropped(), batcher.Failed())
	case uint64(stored) != batcher.Recorded():
		r.Status = statusFail
		r.Note = fmt.Sprintf("the batcher recorded %d events but the store holds %d", batcher.Recorded(), stored)
	}
	sec.Results = append(sec.Results, r)
	return sec, nil
}

// pixelTokens creates a run with n email ledger rows in st and returns a
// signed open token for each.
func pixelTokens(ctx context.Context, st store.Store, signer *tracking.Signer, n int) ([]string, error) {
	cs := make([]*contact.Contact, n)
	for i := range cs {
		cs[i] = &contact.Contact{ExternalID: fmt.Sprintf("P%06d", i), FirstName: "Camille", Email: fmt.Sprintf("camille.%d@example.org", i), Kind: contact.KindPerson}
		cs[i].Normalize()
	}
	if _, _, err := st.UpsertContacts(ctx, cs); err != nil {
		return nil, fmt.Errorf("pixel contacts: %w", err)
	}
	run, _, err := st.CreateRun(ctx, store.Run{CampaignID: "bench-pixel", RunKey: "pixel", ContentHash: "bench", State: store.RunSending})
	if err != nil {
		return nil, fmt.Errorf("pixel run: %w", err)
	}
	rows := make([]store.LedgerRow, n)
	tokens := make([]string, n)
	issued := time.Now().Add(-time.Hour) // sent an hour ago: opens now are human
	for i, c := range cs {
		id := store.LedgerID(run.ID, "annonce", c.ID, "email")
		rows[i] = store.LedgerRow{ID: id, RunID: run.ID, CampaignID: "bench-pixel", StepID: "annonce", ContactID: c.ID,
			Channel: "email", Purpose: "marketing", State: store.Accepted}
		tokens[i] = signer.Sign(tracking.Claims{Purpose: tracking.PurposeOpen, LedgerID: id, RunID: run.ID, ContactID: c.ID,
			Campaign: "bench-pixel", Step: "annonce", Channel: "email", IssuedAt: issued})
	}
	if _, err := st.InsertLedger(ctx, rows); err != nil {
		return nil, fmt.Errorf("pixel ledger: %w", err)
	}
	return tokens, nil
}

// loadTest serves h on 127.0.0.1 and has clients goroutines issue GET
// path(i) on keep-alive connections for dur; it returns how many requests
// got a 200 with the whole body read.
func loadTest(ctx context.Context, h http.Handler, clients int, dur time.Duration, path func(i int) string) (int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ctx.Err() == nil; i += clients {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path(i), nil)
				// A mail client's user agent: Go's default one is
				// (rightly) flagged as a machine open.
				req.Header.Set("User-Agent", mailClientUA)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errc <- err
					}
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else if ctx.Err() == nil {
					errc <- fmt.Errorf("status %d, %v", resp.StatusCode, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return ok.Load(), fmt.Errorf("load generator: %w", err)
	}
	return ok.Load(), nil
}

// countEvents counts the opened events in es.
func countEvents(ctx context.Context, es store.EventStore) (int, error) {
	n := 0
	f := store.EventFilter{Types: []string{store.EventOpened}, Limit: 10000}
	for {
		evs, err := es.ListEvents(ctx, f)
		if err != nil {
			return n, fmt.Errorf("list events: %w", err)
		}
		if len(evs) == 0 {
			return n, nil
		}
		n += len(evs)
		f.AfterID = evs[len(evs)-1].ID
	}
}
