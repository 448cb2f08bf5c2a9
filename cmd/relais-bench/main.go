// Command relais-bench is `make bench`: it measures relais against its
// targets, each as a ratio to a baseline measured in the same run on the
// same machine, and writes docs/BENCHMARKS.md.
//
// It starts everything it uses itself, on 127.0.0.1 only: a redis-server on
// a free port in a temporary directory, a discarding SMTP server and a
// Twilio double in-process, SQLite databases in the temporary directory;
// relais runs as subprocesses of the built binary (bin/relais), as in
// production.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relais-dev/relais/internal/testenv"
)

// benchmark is one named measurement; run returns its report section (with
// whatever rows it got before an error).
type benchmark struct {
	name string
	run  func(ctx context.Context, e *env) (Section, error)
}

// benchmarks in the order they run (and appear in the report).
var benchmarks = []benchmark{
	{"expansion", benchExpansion},
	{"email", benchEmail},
	{"sms", benchSMS},
	{"print", benchPrint},
	{"pixel", benchPixel},
	{"latency", benchLatency},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "relais-bench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	out   string
	bin   string
	quick bool
	only  map[string]bool
	keep  bool
	runs  int
	scale float64
	dbs   []string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var only, dbs string
	fs := flag.NewFlagSet("relais-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "docs/BENCHMARKS.md", "report file to write (overwritten)")
	fs.StringVar(&o.bin, "bin", "bin/relais", "relais binary to measure (make build)")
	fs.BoolVar(&o.quick, "quick", false, "a smoke run: -scale 0.1 -runs 1 unless given")
	fs.IntVar(&o.runs, "runs", 3, "runs per figure (the report gives the median and min–max)")
	fs.Float64Var(&o.scale, "scale", 1, "multiplies every size (rows, recipients, durations); 0.1 for a quick run")
	fs.StringVar(&dbs, "db", dbSQLite+","+dbPostgres, "comma-separated databases to measure on: sqlite,postgres")
	fs.StringVar(&only, "only", "", "comma-separated benchmarks to run (default all): "+names())
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (databases, logs, each send benchmark's worker heap profile at its peak) for inspection")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["scale"] {
			o.scale = 0.1
		}
		if !set["runs"] {
			o.runs = 1
		}
	}
	if o.runs < 1 {
		return o, fmt.Errorf("-runs %d: want at least 1", o.runs)
	}
	if o.scale <= 0 || o.scale > 10 {
		return o, fmt.Errorf("-scale %v: want a factor in (0, 10]", o.scale)
	}
	o.dbs = nil
	for _, d := range strings.Split(dbs, ",") {
		switch d = strings.TrimSpace(d); d {
		case dbSQLite, dbPostgres:
			o.dbs = append(o.dbs, d)
		default:
			return o, fmt.Errorf("-db: unknown database %q (sqlite, postgres)", d)
		}
	}
	if only != "" {
		o.only = map[string]bool{}
		for _, n := range strings.Split(only, ",") {
			n = strings.TrimSpace(n)
			if !known(n) {
				return o, fmt.Errorf("-only: unknown benchmark %q (%s)", n, names())
			}
			o.only[n] = true
		}
	}
	return o, nil
}

func names() string {
	var s []string
	for _, b := range benchmarks {
		s = append(s, b.name)
	}
	return strings.Join(s, ",")
}

func known(n string) bool {
	for _, b := range benchmarks {
		if b.name == n {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("relais binary: %w (run make build first)", err)
	}
	dir, err := os.MkdirTemp("", "relais-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stderr, "scratch directory kept:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	e := &env{root: root, bin: bin, dir: dir, keep: o.keep, runs: o.runs, scale: o.scale, dbs: o.dbs, log: stderr,
		profileOut: filepath.Join(filepath.Dir(o.out), "bench", "email-worker-pprof.txt")}
	if err := os.MkdirAll(filepath.Join(dir, "redis"), 0o755); err != nil {
		return err
	}
	if e.redis, err = testenv.NewRedisServer(filepath.Join(dir, "redis")); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer e.redis.Stop()
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	defer e.rdb.Close()

	rep := &Report{Machine: describeMachine(ctx, o.dbs), Scale: o.scale, Runs: o.runs, Started: time.Now(),
		Args: strings.TrimSpace("relais-bench " + strings.Join(args, " "))}
	e.commit = rep.Machine.Commit
	for _, b := range benchmarks {
		if o.only != nil && !o.only[b.name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		e.progress("== %s", b.name)
		sec, err := b.run(ctx, e)
		sec.Duration = time.Since(start)
		if sec.Name == "" {
			sec.Name, sec.Title = b.name, b.name
		}
		if err != nil {
			e.progress("%s: error: %v", b.name, err)
			sec.Results = append(sec.Results, notMeasured(b.name, "(benchmark did not complete)", "", "harness error: "+err.Error()))
		}
		for _, r := range sec.Results {
			e.progress("%s: %s = %s %s (target %s, ratio %s): %s", b.name, r.Metric, fmtNum(r.Value), r.Unit, r.Target, fmtRatio(r.Ratio), r.Status)
		}
		rep.Sections = append(rep.Sections, sec)
		_ = e.flushRedis(context.WithoutCancel(ctx))
	}
	rep.Duration = time.Since(rep.Started)
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(o.out), "bench", "tried.md")); err == nil {
		rep.Tried = string(b)
	}
	if err := writeReport(o.out, rep); err != nil {
		return err
	}
	e.progress("report written to %s (%s)", o.out, rep.Duration.Round(time.Second))
	if ctx.Err() != nil {
		return errors.New("interrupted: the report is partial")
	}
	return nil
}

func writeReport(path string, rep *Report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
