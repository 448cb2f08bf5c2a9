package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/testenv"
)

// sendConcurrency is the concurrency of the bare asynq and HTTP
// baselines.
const sendConcurrency = 50

// workerConcurrency is RELAIS_CONCURRENCY of the measured workers: a
// worker has this many queue tasks and this many messages in flight.
// Tuned on the 2-core machine of BENCHMARKS.md: 50 → 100 raised the email
// and SMS rates by a third at ~15 MB more RSS; 200 added little for email
// and took the email worker's RSS past 150 MB.
const workerConcurrency = 100

// smtpPool is the pool parameter of the measured workers' SMTP URL: how
// many connections a worker keeps to the relay (the default, 10, is
// polite to a real relay but leaves most of the 100 sends in flight
// waiting for a connection).
const smtpPool = 50

// smtpConns is how many connections the bare SMTP client pushes over.
const smtpConns = 20

// noopBaseline measures bare asynq's no-op processing rate of n tasks at
// sendConcurrency, once per size and run index.
func (e *env) noopBaseline(ctx context.Context, n, run int) (float64, error) {
	if e.noop == nil {
		e.noop = map[[2]int]float64{}
	}
	if r, ok := e.noop[[2]int{n, run}]; ok {
		return r, nil
	}
	if err := e.flushRedis(ctx); err != nil {
		return 0, err
	}
	opt, err := queue.RedisOpt(e.redis.URL())
	if err != nil {
		return 0, err
	}
	e.progress("baseline: bare asynq no-op processing of %d tasks, concurrency %d", n, sendConcurrency)
	r, err := bareProcess(ctx, opt, n, sendConcurrency)
	if err != nil {
		return 0, err
	}
	e.noop[[2]int{n, run}] = r
	return r, e.flushRedis(ctx)
}

// startWorker starts `relais serve --roles worker` on the repository at
// workerConcurrency with the given extra environment.
func (e *env) startWorker(ctx context.Context, repo, dbURL string, provider map[string]string) (*proc, error) {
	extra := map[string]string{"RELAIS_CONCURRENCY": fmt.Sprint(workerConcurrency)}
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
	cpu               cpuSplit // of the drain: worker, redis-server, database
}

// drainRun expands campaignFile on a fresh database of kind, starts one
// worker with env extra, waits until the run is drained and returns the
// acceptance rate and what the drain cost.
func (e *env) drainRun(ctx context.Context, repo, campaignFile, kind string, extra map[string]string, timeout time.Duration) (sendRun, error) {
	var out sendRun
	if err := e.flushRedis(ctx); err != nil {
		return out, err
	}
	db, err := e.newDatabase(ctx, kind, repo, "relais")
	if err != nil {
		return out, err
	}
	defer db.drop(ctx)
	res, st, err := e.expand(ctx, repo, campaignFile, db.URL)
	if err != nil {
		return out, err
	}
	out.planned, out.expand = res.Planned, st
	e.progress("expanded %d sends in %s; starting the worker", res.Planned, st.Wall.Round(time.Millisecond))
	s, err := openStore(ctx, db.URL)
	if err != nil {
		return out, err
	}
	defer s.Close()
	redis0 := e.redisCPU(ctx)
	smp := sampleDB(ctx, db)
	if e.keep {
		extra = maps.Clone(extra)
		extra["RELAIS_MEM_PROFILE"] = filepath.Join(repo, "worker.heap")
	}
	w, err := e.startWorker(ctx, repo, db.URL, extra)
	if err != nil {
		smp.total()
		return out, err
	}
	counts, derr := waitDrained(ctx, s, res.Run.ID, time.Second, timeout, func() bool { return !w.exited() })
	out.worker, err = w.stop(time.Minute)
	out.cpu.DB, out.cpu.DBMeasured = smp.total()
	out.cpu.Redis, out.cpu.Relais = e.redisCPU(ctx)-redis0, out.worker.CPU
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

// sendFigures collects one database's runs of a send benchmark.
type sendFigures struct {
	rates, rss, cpu []float64
}

func (f *sendFigures) add(r sendRun) {
	f.rates = append(f.rates, r.rate)
	f.rss = append(f.rss, r.worker.MaxRSSMB)
	f.cpu = append(f.cpu, r.cpu.totalPerMsg(r.accepted))
}

// runDetail is the report line of one drained run.
func runDetail(label string, r sendRun, extra string) string {
	return fmt.Sprintf("%s: %s planned (expansion %s), ledger %v; %s accepted in %s (first to last acceptance) = %s msgs/s%s; worker peak RSS %.0f MB, CPU per message: %s",
		label, groupThousands(fmt.Sprint(r.planned)), r.expand.Wall.Round(time.Second), r.counts, groupThousands(fmt.Sprint(r.accepted)),
		r.span.Round(time.Millisecond), fmtNum(r.rate), extra, r.worker.MaxRSSMB, r.cpu.perMsg(r.accepted))
}

// profileTop writes `go tool pprof -top` of the worker's CPU profile to
// e.profileOut, with a header naming what was profiled.
func (e *env) profileTop(ctx context.Context, profile, what string) error {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=60", e.bin, profile).Output()
	if err != nil {
		return fmt.Errorf("go tool pprof: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(e.profileOut), 0o755); err != nil {
		return err
	}
	head := fmt.Sprintf("# CPU profile of the email worker (relais serve --roles worker, RELAIS_CPU_PROFILE)\n# %s\n# commit %s\n\n", what, e.commit)
	return os.WriteFile(e.profileOut, append([]byte(head), out...), 0o644)
}

// sendRSSCheck is the worker RSS row of a send benchmark.
func sendRSSCheck(bench, lbl string, f sendFigures, n int) Result {
	return checkSpread(bench, fmt.Sprintf("%s: worker peak RSS, %s recipients", lbl, groupThousands(fmt.Sprint(n))), spreadOf(f.rss), "MB", "≤ 150 MB",
		none, "", func(v, _ float64) bool { return v <= 150 })
}

// cpuRow is the (informational) CPU-per-message row of a send benchmark.
func cpuRow(bench, lbl string, f sendFigures) Result {
	r := checkSpread(bench, lbl+": CPU per message, relais + redis-server + database", spreadOf(f.cpu), "µs/msg", "— (context)",
		none, "", func(float64, float64) bool { return true })
	r.Status = statusInfo
	return r
}
