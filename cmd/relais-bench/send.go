package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
)

const emailWhat = `
End to end through the real send path: ` + "`bin/relais run`" + ` expands a marketing campaign (one email step,
~5 KB multipart message with personalization, tracking links, open pixel and List-Unsubscribe headers;
` + "`where: consent.email == true`" + ` so that every planned recipient may receive it), then one
` + "`bin/relais serve --roles worker`" + ` subprocess (concurrency 50) drains the queue: ledger claim and
transitions, second policy check (consent, suppression, frequency cap), render, SMTP to an in-process
discarding SMTP server (emersion/go-smtp) on loopback. The rate is accepted messages divided by the time
from the first to the last acceptance, read from the ledger (the source of truth); the SMTP server's count
is checked against it. Worker peak RSS is the kernel's ` + "`ru_maxrss`" + ` of the serve process.
**Baseline**: bare asynq processing no-op tasks at concurrency 50 on the same redis-server (same number of
tasks, enqueued first). **Targets**: ≥ 2,500 msgs/s; ≥ 60 % of the bare no-op rate; worker RSS ≤ 150 MB.
Reference: a well-known Go newsletter manager does 2,300–2,600 emails/s with 290–540 MB RSS.`

const smsWhat = `
Same as email with a **transactional** SMS step (one GSM-7 segment) to the in-process Twilio double of the
Messages API (twilio-go pointed at it with ` + "`TWILIO_API_BASE_URL`" + `, recording off). Transactional
because the generated audience has consent_sms Oui/Non/empty and because marketing SMS are deferred outside
quiet hours (the benchmark may run at night); transactional sends skip marketing consent and quiet hours but
still run the ledger, policy (suppression, invalid numbers), render and provider call. Every generated
recipient has a French mobile number. **Baseline**: the same bare asynq no-op rate. **Target**: ≥ 1,500 SMS/s.`

// noopBaseline measures (once per size) bare asynq's no-op processing rate.
func (e *env) noopBaseline(ctx context.Context, n int) (float64, error) {
	if e.noop == nil {
		e.noop = map[int]float64{}
	}
	if r, ok := e.noop[n]; ok {
		return r, nil
	}
	if err := e.flushRedis(ctx); err != nil {
		return 0, err
	}
	opt, err := queue.RedisOpt(e.redis.URL())
	if err != nil {
		return 0, err
	}
	e.progress("baseline: bare asynq no-op processing of %d tasks, concurrency 50", n)
	r, err := bareProcess(ctx, opt, n, 50)
	if err != nil {
		return 0, err
	}
	e.noop[n] = r
	return r, e.flushRedis(ctx)
}

// startWorker starts `relais serve --roles worker` on the repository at
// concurrency 50 with the given provider environment.
func (e *env) startWorker(ctx context.Context, repo, dbURL string, provider map[string]string) (*proc, error) {
	extra := map[string]string{"RELAIS_CONCURRENCY": "50"}
	for k, v := range provider {
		extra[k] = v
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	extra["RELAIS_HTTP_ADDR"] = testenv.Addr(port)
	return startRelais(ctx, e.bin, repo, filepath.Join(repo, "worker.log"), e.relaisEnv(dbURL, extra), "serve", "--roles", "worker")
}

// sendRun is the outcome of one drained run.
type sendRun struct {
	planned, accepted int
	counts            map[string]int
	rate              float64
	span              time.Duration
	worker            procStats
	expand            procStats
}

// drainRun expands campaignFile, starts one worker with provider env, waits
// until the run is drained and returns the acceptance rate.
func (e *env) drainRun(ctx context.Context, repo, campaignFile, dbURL string, provider map[string]string, timeout time.Duration) (sendRun, error) {
	var out sendRun
	if err := e.flushRedis(ctx); err != nil {
		return out, err
	}
	res, st, err := e.expand(ctx, repo, campaignFile, dbURL)
	if err != nil {
		return out, err
	}
	out.planned, out.expand = res.Planned, st
	e.progress("expanded %d sends in %s; starting the worker", res.Planned, st.Wall.Round(time.Millisecond))
	s, err := openStore(ctx, dbURL)
	if err != nil {
		return out, err
	}
	defer s.Close()
	w, err := e.startWorker(ctx, repo, dbURL, provider)
	if err != nil {
		return out, err
	}
	counts, derr := waitDrained(ctx, s, res.Run.ID, time.Second, timeout, func() bool { return !w.exited() })
	out.worker, err = w.stop(time.Minute)
	if derr != nil {
		return out, derr
	}
	if err != nil {
		return out, fmt.Errorf("worker: %w", err)
	}
	out.counts = counts
	n, first, last, err := acceptanceSpan(ctx, s, res.Run.ID)
	if err != nil {
		return out, err
	}
	out.accepted, out.span = n, last.Sub(first)
	if n < 2 || out.span <= 0 {
		return out, fmt.Errorf("only %d sends accepted (ledger counts %v, see %s)", n, counts, filepath.Join(repo, "worker.log"))
	}
	out.rate = float64(n-1) / out.span.Seconds()
	return out, nil
}

func benchEmail(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "email", Title: "Email end to end to a discarding SMTP server", What: emailWhat}
	n := e.size(100_000, 20_000)
	dir, err := e.sub("email")
	if err != nil {
		return sec, err
	}
	// About a third of the generated contacts opted in to email.
	rows := n * 3
	camp := campaignDef{ID: "bench-email", Purpose: "marketing", Channel: "email", Audience: "audiences/contacts.csv", Where: "consent.email == true"}
	if err := writeRepo(dir, []campaignDef{camp}, map[string]int{"audiences/contacts.csv": rows}); err != nil {
		return sec, err
	}
	smtp, err := testenv.NewSMTPServer(testenv.SMTPOptions{Discard: true})
	if err != nil {
		return sec, err
	}
	defer smtp.Close()
	e.progress("email: %d-row audience, about %d opted-in recipients", rows, n)
	r, err := e.drainRun(ctx, dir, "campaigns/bench-email.yaml", "sqlite:"+filepath.Join(dir, "relais.db"),
		map[string]string{"RELAIS_SMTP_URL": smtp.URL()}, time.Duration(n/50)*time.Second+2*time.Minute)
	if err != nil {
		return sec, err
	}
	base, err := e.noopBaseline(ctx, n)
	if err != nil {
		return sec, err
	}
	sec.Details = append(sec.Details,
		fmt.Sprintf("audience %s rows, %s planned sends (expansion %s), ledger after the run: %v", groupThousands(fmt.Sprint(rows)), groupThousands(fmt.Sprint(r.planned)), r.expand.Wall.Round(time.Second), r.counts),
		fmt.Sprintf("%s accepted in %s (first to last acceptance); SMTP server received %s messages over %d connections", groupThousands(fmt.Sprint(r.accepted)), r.span.Round(time.Millisecond), groupThousands(fmt.Sprint(smtp.Count())), smtp.Connections()),
		fmt.Sprintf("worker: peak RSS %.0f MB, CPU %s over %s wall; %s", r.worker.MaxRSSMB, r.worker.CPU.Round(time.Second), r.worker.Wall.Round(time.Second), walNote(filepath.Join(dir, "relais.db"))),
		fmt.Sprintf("baseline: bare asynq no-op processing of %s tasks at concurrency 50: %s tasks/s (reference: 3,500–5,300)", groupThousands(fmt.Sprint(n)), fmtNum(base)),
	)
	rate := check("email", "emails/s end to end (ledger + policy + render + tracking + SMTP)", r.rate, "msgs/s", "≥ 2,500", base, "bare asynq no-op, concurrency 50",
		func(v, _ float64) bool { return v >= 2500 })
	share := check("email", "share of bare asynq no-op rate", r.rate/base*100, "%", "≥ 60 %", math.NaN(), "", func(v, _ float64) bool { return v >= 60 })
	rss := check("email", fmt.Sprintf("worker peak RSS, %s recipients", groupThousands(fmt.Sprint(r.accepted))), r.worker.MaxRSSMB, "MB", "≤ 150 MB", math.NaN(), "",
		func(v, _ float64) bool { return v <= 150 })
	if smtp.Count() != r.accepted {
		rate.Status, rate.Note = statusFail, fmt.Sprintf("SMTP server received %d messages but the ledger has %d accepted", smtp.Count(), r.accepted)
	}
	sec.Results = append(sec.Results, rate, share, rss)
	return sec, nil
}

func benchSMS(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "sms", Title: "SMS end to end to a Twilio double", What: smsWhat}
	n := e.size(100_000, 20_000)
	dir, err := e.sub("sms")
	if err != nil {
		return sec, err
	}
	camp := campaignDef{ID: "bench-sms", Purpose: "transactional", Channel: "sms", Audience: "audiences/contacts.csv"}
	if err := writeRepo(dir, []campaignDef{camp}, map[string]int{"audiences/contacts.csv": n}); err != nil {
		return sec, err
	}
	tw, err := testenv.NewTwilioDouble()
	if err != nil {
		return sec, err
	}
	defer tw.Close()
	tw.SetRecording(false)
	e.progress("sms: %d recipients", n)
	r, err := e.drainRun(ctx, dir, "campaigns/bench-sms.yaml", "sqlite:"+filepath.Join(dir, "relais.db"),
		map[string]string{"TWILIO_ACCOUNT_SID": tw.AccountSID, "TWILIO_AUTH_TOKEN": tw.AuthToken, "TWILIO_API_BASE_URL": tw.URL},
		time.Duration(n/50)*time.Second+2*time.Minute)
	if err != nil {
		return sec, err
	}
	base, err := e.noopBaseline(ctx, n)
	if err != nil {
		return sec, err
	}
	sec.Details = append(sec.Details,
		fmt.Sprintf("%s recipients, %s planned sends (expansion %s), ledger after the run: %v", groupThousands(fmt.Sprint(n)), groupThousands(fmt.Sprint(r.planned)), r.expand.Wall.Round(time.Second), r.counts),
		fmt.Sprintf("%s accepted by the Twilio double in %s (first to last acceptance)", groupThousands(fmt.Sprint(r.accepted)), r.span.Round(time.Millisecond)),
		fmt.Sprintf("worker: peak RSS %.0f MB, CPU %s over %s wall", r.worker.MaxRSSMB, r.worker.CPU.Round(time.Second), r.worker.Wall.Round(time.Second)),
		fmt.Sprintf("baseline: bare asynq no-op processing at concurrency 50: %s tasks/s", fmtNum(base)),
	)
	sec.Results = append(sec.Results, check("sms", "SMS/s end to end (ledger + policy + render + Twilio API)", r.rate, "msgs/s", "≥ 1,500", base, "bare asynq no-op, concurrency 50",
		func(v, _ float64) bool { return v >= 1500 }))
	return sec, nil
}
