package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/relais-dev/relais/internal/queue"
)

const expansionWhat = `
Generates CSV audiences with ` + "`audience.GenerateCSV`" + ` (realistic French export: ` + "`;`" + `, decimal commas,
quoted fields, ~1 % duplicate emails), writes a campaign repository (one email step, ` + "`source: file`" + `,
purpose ` + "`transactional`" + ` so that every valid row becomes a queued send and the enqueue rate is not
diluted by plan-time consent refusals), and runs the built binary ` + "`bin/relais run CAMPAIGN --json`" + ` as a
subprocess against our redis-server and a fresh SQLite database, with no worker running: the measure is
expansion only (stream the file, upsert contacts, policy check, ledger rows, one asynq task per row).
Wall time and peak RSS (kernel ` + "`ru_maxrss`" + `) are those of the whole process.
**Baseline**: a bare parallel asynq enqueue loop (8 goroutines, one client, tasks with a payload of the
same size) enqueuing the same number of tasks on the same redis-server, flushed between measurements.
**Targets**: enqueue rate ≥ 80 % of the bare loop; peak RSS < 300 MB at 1,000,000 rows; memory flat
(peak RSS at 1,000,000 rows ≤ 1.5 × the peak at 100,000 rows).`

type expansionRun struct {
	rows     int
	res      runResult
	st       procStats
	enqRate  float64
	rowsRate float64
}

func benchExpansion(ctx context.Context, e *env) (Section, error) {
	sec := Section{Name: "expansion", Title: "Expansion: streaming a CSV audience into the ledger and the queue", What: expansionWhat}
	small, big := e.size(100_000, 10_000), e.size(1_000_000, 100_000)
	dir, err := e.sub("expansion")
	if err != nil {
		return sec, err
	}
	e.progress("expansion: generating %d and %d-row audiences", small, big)
	camps := []campaignDef{
		{ID: "exp-small", Purpose: "transactional", Channel: "email", Audience: "audiences/small.csv"},
		{ID: "exp-big", Purpose: "transactional", Channel: "email", Audience: "audiences/big.csv"},
	}
	if err := writeRepo(dir, camps, map[string]int{"audiences/small.csv": small, "audiences/big.csv": big}); err != nil {
		return sec, err
	}
	runs := map[string]*expansionRun{}
	for _, c := range []struct {
		id   string
		rows int
	}{{"exp-small", small}, {"exp-big", big}} {
		if err := e.flushRedis(ctx); err != nil {
			return sec, err
		}
		e.progress("expansion: relais run %s (%d rows)", c.id, c.rows)
		db := "sqlite:" + filepath.Join(dir, c.id+".db")
		res, st, err := e.expand(ctx, dir, "campaigns/"+c.id+".yaml", db)
		if err != nil {
			return sec, err
		}
		r := &expansionRun{rows: c.rows, res: res, st: st}
		r.enqRate = float64(res.Enqueued) / st.Wall.Seconds()
		r.rowsRate = float64(c.rows) / st.Wall.Seconds()
		runs[c.id] = r
		sec.Details = append(sec.Details, fmt.Sprintf("%s rows: %s planned, %s refused at plan time %v, %s tasks enqueued in %s (%s rows/s, %s tasks/s), peak RSS %.0f MB, CPU %s",
			groupThousands(fmt.Sprint(c.rows)), groupThousands(fmt.Sprint(res.Planned)), groupThousands(fmt.Sprint(res.Refused)), res.ByReason,
			groupThousands(fmt.Sprint(res.Enqueued)), st.Wall.Round(time.Millisecond), fmtNum(r.rowsRate), fmtNum(r.enqRate), st.MaxRSSMB, st.CPU.Round(time.Millisecond)))
	}
	if err := e.flushRedis(ctx); err != nil {
		return sec, err
	}
	bigRun := runs["exp-big"]
	e.progress("expansion: baseline, bare asynq enqueue of %d tasks (8 goroutines)", bigRun.res.Enqueued)
	opt, err := queue.RedisOpt(e.redis.URL())
	if err != nil {
		return sec, err
	}
	bare, err := bareEnqueue(ctx, opt, bigRun.res.Enqueued, 8)
	if err != nil {
		return sec, err
	}
	if err := e.flushRedis(ctx); err != nil {
		return sec, err
	}
	sec.Details = append(sec.Details, fmt.Sprintf("baseline: bare asynq enqueue of %s tasks, 8 goroutines: %s tasks/s (reference on a 2-core machine: ~30,000)",
		groupThousands(fmt.Sprint(bigRun.res.Enqueued)), fmtNum(bare)))
	label := groupThousands(fmt.Sprint(big))
	sec.Results = append(sec.Results,
		check("expansion", "enqueue rate, "+label+" rows (tasks / wall time of `relais run`)", bigRun.enqRate, "tasks/s", "≥ 80 % of bare loop",
			bare, "bare asynq enqueue, 8 goroutines", func(_, r float64) bool { return r >= 0.8 }),
		check("expansion", "peak RSS of `relais run`, "+label+" rows", bigRun.st.MaxRSSMB, "MB", "< 300 MB",
			math.NaN(), "", func(v, _ float64) bool { return v < 300 }),
	)
	growth := bigRun.st.MaxRSSMB / runs["exp-small"].st.MaxRSSMB
	g := check("expansion", fmt.Sprintf("memory growth: peak RSS at %s ÷ at %s rows", label, groupThousands(fmt.Sprint(small))), growth, "×", "≤ 1.5 (flat)",
		math.NaN(), "", func(v, _ float64) bool { return v <= 1.5 })
	g.Note = fmt.Sprintf("%.0f MB at %s rows, %.0f MB at %s rows", runs["exp-small"].st.MaxRSSMB, groupThousands(fmt.Sprint(small)), bigRun.st.MaxRSSMB, label)
	sec.Results = append(sec.Results, g)
	return sec, nil
}
