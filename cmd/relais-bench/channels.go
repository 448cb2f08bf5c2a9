package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

const emailWhat = `
End to end through the real send path: ` + "`bin/relais run`" + ` expands a marketing campaign (one email step,
~5 KB multipart message with personalization, tracking links, open pixel and List-Unsubscribe headers;
` + "`where: consent.email == true`" + ` so that every planned recipient may receive it) on a fresh database, then one
` + "`bin/relais serve --roles worker`" + ` subprocess (` + "`RELAIS_CONCURRENCY=100`" + `, SMTP URL ` + "`pool=50`" + `) drains the queue: ledger claim and
transitions, second policy check (consent, suppression, frequency cap), render, SMTP to an in-process
discarding SMTP server (emersion/go-smtp) on loopback. The rate is accepted messages divided by the time
from the first to the last acceptance, read from the ledger (the source of truth); the SMTP server's count
is checked against it. Worker peak RSS is the kernel's ` + "`VmHWM`" + ` of the serve process (read every 20 ms; not ` + "`ru_maxrss`" + `, which on Linux never falls below the harness's own peak); CPU per message is
split between the worker, redis-server and the PostgreSQL backends of the run's database (/proc/<pid>/stat;
SQLite runs inside the worker).
**Baseline (the ceiling)**: a bare Go SMTP client (net/smtp) pushing the same number of pre-built ~5 KB
messages over 20 connections to the same discarding server, in the same run; for context also bare asynq
processing no-op tasks at concurrency 50 on the same redis-server. **Targets**: ≥ 0.6 × the bare SMTP ceiling
on each database; worker RSS ≤ 150 MB at 100,000 recipients. Each figure is the median of the runs (min–max
in brackets), baselines included. One run (named in the profile's header) runs with ` + "`RELAIS_CPU_PROFILE`" + `
and its profile's top list is written to ` + "`docs/bench/email-worker-pprof.txt`" + `.`

const smsWhat = `
Same as email with a **transactional** SMS step (one GSM-7 segment) to the in-process Twilio double of the
Messages API (twilio-go pointed at it with ` + "`TWILIO_API_BASE_URL`" + `, recording off). Transactional
because the generated audience has consent_sms Oui/Non/empty and because marketing SMS are deferred outside
quiet hours (the benchmark may run at night); transactional sends skip marketing consent and quiet hours but
still run the ledger, policy (suppression, invalid numbers), render and provider call. Every generated
recipient has a French mobile number. **Baseline (the ceiling)**: a bare Go HTTP client (50 goroutines, keep-alive)
posting the same create requests to the same double. **Target**: ≥ 0.6 × the bare HTTP rate on each database.`

func benchEmail(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "email", Title: "Email end to end to a discarding SMTP server", What: emailWhat}
	n := e.size(100_000, 2_000)
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
	var ceil, noop []float64
	for i := range e.runs {
		e.progress("email: baseline %d/%d, bare SMTP client, %d messages over %d connections", i+1, e.runs, n, smtpConns)
		c, err := bareSMTP(ctx, smtp.Addr(), n, smtpConns)
		if err != nil {
			return sec, err
		}
		b, err := e.noopBaseline(ctx, n, i)
		if err != nil {
			return sec, err
		}
		ceil, noop = append(ceil, c), append(noop, b)
	}
	ceiling, bareNoop := spreadOf(ceil), spreadOf(noop)
	sec.Details = append(sec.Details,
		fmt.Sprintf("ceiling: bare SMTP client, %s pre-built messages over %d connections: %s msgs/s", groupThousands(fmt.Sprint(n)), smtpConns, ceiling),
		fmt.Sprintf("context: bare asynq no-op processing of %s tasks at concurrency %d: %s tasks/s", groupThousands(fmt.Sprint(n)), sendConcurrency, bareNoop))
	profiled := false
	for _, kind := range e.dbs {
		lbl := dbLabel(kind)
		var f sendFigures
		var accepted int
		for i := range e.runs {
			extra := map[string]string{"RELAIS_SMTP_URL": fmt.Sprintf("%s&pool=%d", smtp.URL(), smtpPool)}
			profile := ""
			// Profile the first run on the last database (PostgreSQL by default).
			if !profiled && kind == e.dbs[len(e.dbs)-1] {
				profile = filepath.Join(dir, "worker.pprof")
				extra["RELAIS_CPU_PROFILE"] = profile
				profiled = true
			}
			e.progress("email [%s]: run %d/%d, %d-row audience, about %d opted-in recipients", kind, i+1, e.runs, rows, n)
			before := smtp.Count()
			r, err := e.drainRun(ctx, dir, "campaigns/bench-email.yaml", kind, extra, time.Duration(n/50)*time.Second+2*time.Minute)
			if err != nil {
				return sec, err
			}
			got := smtp.Count() - before
			note := ""
			if profile != "" {
				note = " (CPU-profiled run)"
			}
			sec.Details = append(sec.Details, runDetail(fmt.Sprintf("%s, run %d%s", lbl, i+1, note), r, fmt.Sprintf("; SMTP server received %s", groupThousands(fmt.Sprint(got)))))
			if got != r.accepted {
				return sec, fmt.Errorf("%s run %d: SMTP server received %d messages but the ledger has %d accepted", lbl, i+1, got, r.accepted)
			}
			if profile != "" {
				if err := e.profileTop(ctx, profile, fmt.Sprintf("%s, run %d: %d messages at %.0f msgs/s", lbl, i+1, r.accepted, r.rate)); err != nil {
					sec.Details = append(sec.Details, "profile not written: "+err.Error())
				}
			}
			f.add(r)
			accepted = r.accepted
		}
		rate := spreadOf(f.rates)
		sec.Results = append(sec.Results,
			checkSpread("email", lbl+": emails/s end to end (ledger + policy + render + tracking + SMTP)", rate, "msgs/s", "≥ 0.6 × bare SMTP",
				ceiling, "bare SMTP client, 20 connections", func(_, r float64) bool { return r >= 0.6 }),
		)
		ctxRow := checkSpread("email", lbl+": emails/s as a share of bare asynq no-op processing", rate, "msgs/s", "— (context)",
			bareNoop, "bare asynq no-op, concurrency 50", func(float64, float64) bool { return true })
		ctxRow.Status = statusInfo
		sec.Results = append(sec.Results, ctxRow, sendRSSCheck("email", lbl, f, accepted), cpuRow("email", lbl, f))
	}
	return sec, nil
}

func benchSMS(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "sms", Title: "SMS end to end to a Twilio double", What: smsWhat}
	n := e.size(100_000, 2_000)
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
	var bare []float64
	for i := range e.runs {
		e.progress("sms: baseline %d/%d, bare HTTP client, %d requests from %d goroutines", i+1, e.runs, n, sendConcurrency)
		b, err := bareHTTP(ctx, tw.URL, tw.AccountSID, tw.AuthToken, n, sendConcurrency)
		if err != nil {
			return sec, err
		}
		bare = append(bare, b)
	}
	ceiling := spreadOf(bare)
	sec.Details = append(sec.Details, fmt.Sprintf("ceiling: bare HTTP client posting %s create requests from %d goroutines: %s req/s", groupThousands(fmt.Sprint(n)), sendConcurrency, ceiling))
	env := map[string]string{"TWILIO_ACCOUNT_SID": tw.AccountSID, "TWILIO_AUTH_TOKEN": tw.AuthToken, "TWILIO_API_BASE_URL": tw.URL}
	for _, kind := range e.dbs {
		lbl := dbLabel(kind)
		var f sendFigures
		var accepted int
		for i := range e.runs {
			e.progress("sms [%s]: run %d/%d, %d recipients", kind, i+1, e.runs, n)
			r, err := e.drainRun(ctx, dir, "campaigns/bench-sms.yaml", kind, env, time.Duration(n/50)*time.Second+2*time.Minute)
			if err != nil {
				return sec, err
			}
			sec.Details = append(sec.Details, runDetail(fmt.Sprintf("%s, run %d", lbl, i+1), r, ""))
			f.add(r)
			accepted = r.accepted
		}
		sec.Results = append(sec.Results,
			checkSpread("sms", lbl+": SMS/s end to end (ledger + policy + render + Twilio API)", spreadOf(f.rates), "msgs/s", "≥ 0.6 × bare HTTP",
				ceiling, "bare HTTP client, 50 goroutines", func(_, r float64) bool { return r >= 0.6 }),
			sendRSSCheck("sms", lbl, f, accepted), cpuRow("sms", lbl, f))
	}
	return sec, nil
}
