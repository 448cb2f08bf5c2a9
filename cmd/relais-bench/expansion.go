package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/relais-dev/relais/internal/queue"
)

const expansionWhat = `
Generates CSV audiences with ` + "`audience.GenerateCSV`" + ` (realistic French export: ` + "`;`" + `, decimal commas,
quoted fields, ~1 % duplicate emails, consent_email Oui/Non/empty), writes a campaign repository and runs the
built binary ` + "`bin/relais run CAMPAIGN --json`" + ` as a subprocess against our redis-server and a fresh
database (a new SQLite file, or a new PostgreSQL database created for the run and dropped after), with no
worker running: the measure is expansion only (stream the file, upsert contacts, policy check, ledger rows,
one asynq task per sendable row). Two campaigns, one email step each:
**transactional** (the cheapest policy path: every valid row becomes a queued send) and **marketing**
(no ` + "`where`" + `: every row is judged by the policy — suppression list, stored and imported consent,
the frequency cap of 3 per 7 days, and quiet hours, which this repository's ` + "`relais.yaml`" + ` turns on for email;
about a third of the generated people opted in, the others get a refused ledger row, and rows
deferred by quiet hours are enqueued for later). The marketing rate counts **ledger rows written per second**
(planned + refused), each one a policy decision. Wall time and peak RSS (kernel ` + "`VmHWM`" + `, read every 20 ms) are those of
the whole process; CPU is split between relais, redis-server and the PostgreSQL backends of the run's database
(/proc/<pid>/stat; SQLite runs inside relais).
**Baseline**: a bare parallel asynq enqueue loop (8 goroutines, one client, tasks with a payload of the
same size) on the same redis-server, flushed between measurements.
**Targets**: marketing expansion of 1,000,000 rows ≥ 60 % of the bare loop on PostgreSQL; peak RSS < 300 MB;
memory flat (peak RSS at 1,000,000 rows ≤ 1.5 × the peak at 100,000 rows). The 100,000-row figures are the
median of the runs; the 1,000,000-row expansions are **single runs** (each takes minutes: three of them on
each database would take the whole time budget of ` + "`make bench`" + `).`

// expansionConfig turns quiet hours on for email too, so that the
// marketing expansion computes them for every allowed row.
const expansionConfig = `policy:
  quiet_hours:
    enabled: true
    channels: [email, sms, mms]
    days: [mon, tue, wed, thu, fri, sat]
    start: "08:00"
    end: "20:00"
    holidays: fr
`

// expansionRun is one measured `relais run`.
type expansionRun struct {
	res      runResult
	st       procStats
	cpu      cpuSplit
	enqRate  float64 // tasks enqueued per second
	rowsRate float64 // ledger rows (planned + refused) per second
}

// expandOnce runs campaign id on a fresh database of kind and measures it.
func (e *env) expandOnce(ctx context.Context, dir, kind, id string) (expansionRun, error) {
	var r expansionRun
	if err := e.flushRedis(ctx); err != nil {
		return r, err
	}
	db, err := e.newDatabase(ctx, kind, dir, id)
	if err != nil {
		return r, err
	}
	defer db.drop(ctx)
	redis0 := e.redisCPU(ctx)
	smp := sampleDB(ctx, db)
	r.res, r.st, err = e.expand(ctx, dir, "campaigns/"+id+".yaml", db.URL)
	r.cpu.DB, r.cpu.DBMeasured = smp.total()
	r.cpu.Redis, r.cpu.Relais = e.redisCPU(ctx)-redis0, r.st.CPU
	if err != nil {
		return r, err
	}
	r.enqRate = float64(r.res.Enqueued) / r.st.Wall.Seconds()
	r.rowsRate = float64(r.res.Planned+r.res.Refused) / r.st.Wall.Seconds()
	return r, nil
}

func (r expansionRun) detail(label string, rows int) string {
	return fmt.Sprintf("%s, %s rows: %s planned, %s refused %v, %s tasks enqueued in %s (%s ledger rows/s, %s tasks/s), peak RSS %.0f MB; CPU per ledger row: %s",
		label, groupThousands(fmt.Sprint(rows)), groupThousands(fmt.Sprint(r.res.Planned)), groupThousands(fmt.Sprint(r.res.Refused)), r.res.ByReason,
		groupThousands(fmt.Sprint(r.res.Enqueued)), r.st.Wall.Round(time.Millisecond), fmtNum(r.rowsRate), fmtNum(r.enqRate), r.st.MaxRSSMB,
		r.cpu.perMsg(r.res.Planned+r.res.Refused))
}

func benchExpansion(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "expansion", Title: "Expansion: streaming a CSV audience into the ledger and the queue", What: expansionWhat}
	small, big := e.size(100_000, 10_000), e.size(1_000_000, 20_000)
	dir, err := e.sub("expansion")
	if err != nil {
		return sec, err
	}
	e.progress("expansion: generating %d and %d-row audiences", small, big)
	camps := []campaignDef{
		{ID: "tx-small", Purpose: "transactional", Channel: "email", Audience: "audiences/small.csv"},
		{ID: "mkt-small", Purpose: "marketing", Channel: "email", Audience: "audiences/small.csv"},
		{ID: "mkt-big", Purpose: "marketing", Channel: "email", Audience: "audiences/big.csv"},
	}
	if err := writeRepo(dir, camps, map[string]int{"audiences/small.csv": small, "audiences/big.csv": big}); err != nil {
		return sec, err
	}
	if err := os.WriteFile(filepath.Join(dir, "relais.yaml"), []byte(expansionConfig), 0o644); err != nil {
		return sec, err
	}
	opt, err := queue.RedisOpt(e.redis.URL())
	if err != nil {
		return sec, err
	}
	var bares []float64
	for i := range e.runs {
		if err := e.flushRedis(ctx); err != nil {
			return sec, err
		}
		e.progress("expansion: baseline %d/%d, bare asynq enqueue of %d tasks (8 goroutines)", i+1, e.runs, small)
		b, err := bareEnqueue(ctx, opt, small, 8)
		if err != nil {
			return sec, err
		}
		bares = append(bares, b)
	}
	bare := spreadOf(bares)
	sec.Details = append(sec.Details, fmt.Sprintf("baseline: bare asynq enqueue of %s tasks, 8 goroutines: %s tasks/s (reference on a 2-core machine: ~30,000–40,000)",
		groupThousands(fmt.Sprint(small)), bare))
	const baseName = "bare asynq enqueue, 8 goroutines"
	for _, kind := range e.dbs {
		var txRates, mktRates, mktRSS []float64
		for i := range e.runs {
			for _, id := range []string{"tx-small", "mkt-small"} {
				e.progress("expansion [%s]: run %d/%d, relais run %s (%d rows)", kind, i+1, e.runs, id, small)
				r, err := e.expandOnce(ctx, dir, kind, id)
				if err != nil {
					return sec, err
				}
				sec.Details = append(sec.Details, r.detail(fmt.Sprintf("%s, %s, run %d", dbLabel(kind), id, i+1), small))
				if id == "tx-small" {
					txRates = append(txRates, r.enqRate)
				} else {
					mktRates, mktRSS = append(mktRates, r.rowsRate), append(mktRSS, r.st.MaxRSSMB)
				}
			}
		}
		e.progress("expansion [%s]: relais run mkt-big (%d rows, single run)", kind, big)
		r, err := e.expandOnce(ctx, dir, kind, "mkt-big")
		if err != nil {
			return sec, err
		}
		sec.Details = append(sec.Details, r.detail(fmt.Sprintf("%s, mkt-big (single run)", dbLabel(kind)), big))
		lbl, sl, bl := dbLabel(kind), groupThousands(fmt.Sprint(small)), groupThousands(fmt.Sprint(big))
		tx := checkSpread("expansion", lbl+": transactional enqueue rate, "+sl+" rows (tasks / wall time)", spreadOf(txRates), "tasks/s", "— (context)",
			bare, baseName, func(float64, float64) bool { return true })
		tx.Status = statusInfo
		mkt := checkSpread("expansion", lbl+": marketing expansion, "+sl+" rows (ledger rows / wall time)", spreadOf(mktRates), "rows/s", "— (context)",
			bare, baseName, func(float64, float64) bool { return true })
		mkt.Status = statusInfo
		target := "≥ 60 % of bare loop"
		if kind != dbPostgres {
			target = "— (the target is on PostgreSQL)"
		}
		head := checkSpread("expansion", lbl+": marketing expansion, "+bl+" rows (ledger rows / wall time)", one(r.rowsRate), "rows/s", target,
			bare, baseName, func(_, ratio float64) bool { return ratio >= 0.6 })
		if kind != dbPostgres {
			head.Status = statusInfo
		}
		rss := check("expansion", lbl+": peak RSS of `relais run`, "+bl+" rows", r.st.MaxRSSMB, "MB", "< 300 MB",
			math.NaN(), "", func(v, _ float64) bool { return v < 300 })
		smallRSS := spreadOf(mktRSS).Median
		g := check("expansion", fmt.Sprintf("%s: memory growth, peak RSS at %s ÷ at %s rows", lbl, bl, sl), r.st.MaxRSSMB/smallRSS, "×", "≤ 1.5 (flat)",
			math.NaN(), "", func(v, _ float64) bool { return v <= 1.5 })
		g.Note = fmt.Sprintf("%.0f MB at %s rows (median), %.0f MB at %s rows", smallRSS, sl, r.st.MaxRSSMB, bl)
		sec.Results = append(sec.Results, tx, mkt, head, rss, g)
	}
	return sec, nil
}

// dbLabel names a database kind in the report.
func dbLabel(kind string) string { return (&database{Kind: kind}).label() }
