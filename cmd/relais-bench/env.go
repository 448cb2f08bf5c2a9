package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/relais-dev/relais/internal/store"
	storeopen "github.com/relais-dev/relais/internal/store/open"
	"github.com/relais-dev/relais/internal/testenv"
)

// benchSecret is the RELAIS_SECRET of every relais process the harness
// starts (a fixed value: nothing it protects outlives the run).
const benchSecret = "relais-bench-secret-0123456789abcdef"

// env is what all benchmarks share: the relais binary, a scratch
// directory, and a redis-server of our own.
type env struct {
	root  string   // repository root (fonts, templates)
	bin   string   // absolute path of bin/relais
	dir   string   // scratch directory, removed at the end unless -keep
	keep  bool     // -keep: the workers also leave a peak heap profile there
	runs  int      // runs per figure
	scale float64  // size factor
	dbs   []string // databases to measure on
	log   io.Writer
	// profileOut is where the email worker's CPU profile top list goes.
	profileOut string
	redis      *testenv.RedisServer
	rdb        *redis.Client
	noop       map[[2]int]float64 // bare no-op rates by task count and run
	commit     string             // the commit measured
}

// progress prints a line on the harness' log (stderr).
func (e *env) progress(format string, a ...any) {
	fmt.Fprintf(e.log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// size scales full by -scale, never below floor.
func (e *env) size(full, floor int) int {
	return max(int(float64(full)*e.scale), floor)
}

// flushRedis empties our own redis-server between measurements so that
// no benchmark inherits another's queue.
func (e *env) flushRedis(ctx context.Context) error {
	if err := e.rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("flush redis: %w", err)
	}
	return nil
}

// sub makes a fresh subdirectory of the scratch dir for one benchmark.
func (e *env) sub(name string) (string, error) {
	d := filepath.Join(e.dir, name)
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	return d, os.MkdirAll(d, 0o755)
}

// relaisEnv is the whole environment of a relais subprocess: the parent's
// minus any RELAIS_/TWILIO_ variable (so a developer's settings never
// point a benchmark at a real service), plus ours.
func (e *env) relaisEnv(dbURL string, extra map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RELAIS_") || strings.HasPrefix(kv, "TWILIO_") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out,
		"RELAIS_REDIS_URL="+e.redis.URL(),
		"RELAIS_DATABASE_URL="+dbURL,
		"RELAIS_SECRET="+benchSecret,
		"RELAIS_LOG_LEVEL=warn",
		"RELAIS_LOG_FORMAT=json",
	)
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

// runResult is the part of `relais run --json` the harness reads.
type runResult struct {
	Run struct {
		ID int64 `json:"id"`
	} `json:"run"`
	Planned  int            `json:"planned"`
	Refused  int            `json:"refused"`
	Enqueued int            `json:"enqueued"`
	ByReason map[string]int `json:"by_reason"`
}

// expand runs `relais run CAMPAIGN --json` (no workers: expansion and
// enqueue only) and returns its result and process stats.
func (e *env) expand(ctx context.Context, repo, campaignFile, dbURL string) (runResult, procStats, error) {
	// Expansion only: no worker sends, but a run with a Redis URL needs a
	// provider (or an explicit outbox) for the campaign's channel.
	env := e.relaisEnv(dbURL, map[string]string{"RELAIS_OUTBOX_DIR": filepath.Join(repo, "outbox")})
	p, err := startRelais(ctx, e.bin, repo, filepath.Join(repo, "relais.log"), env, "run", campaignFile, "--json")
	if err != nil {
		return runResult{}, procStats{}, err
	}
	st, err := p.wait()
	if err != nil {
		return runResult{}, st, err
	}
	var res runResult
	if err := json.Unmarshal(p.stdout.Bytes(), &res); err != nil {
		return res, st, fmt.Errorf("relais run --json output: %w: %.200q", err, p.stdout.String())
	}
	return res, st, nil
}

// openStore opens the benchmark's database from the harness process (for
// polling and reading ledger timestamps).
func openStore(ctx context.Context, dbURL string) (store.Store, error) {
	s, err := storeopen.Open(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// pendingOf counts the rows a worker still has to act on.
func pendingOf(c map[string]int) int {
	return store.Due(c)
}

// waitDrained polls the run's ledger counts every interval until nothing
// is pending or timeout passes; it returns the last counts.
func waitDrained(ctx context.Context, st store.Store, runID int64, interval, timeout time.Duration, alive func() bool) (map[string]int, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := st.CountLedger(ctx, runID)
		if err != nil {
			return nil, fmt.Errorf("count ledger: %w", err)
		}
		if pendingOf(c) == 0 {
			return c, nil
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("run %d not drained after %s: %v", runID, timeout, c)
		}
		if alive != nil && !alive() {
			return c, fmt.Errorf("worker exited before run %d drained: %v", runID, c)
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// acceptanceSpan reads the run's accepted rows and returns how many there
// are and the first and last acceptance times (updated_at of the
// accepted transition), the ledger being the source of truth.
func acceptanceSpan(ctx context.Context, st store.Store, runID int64) (n int, first, last time.Time, err error) {
	f := store.LedgerFilter{RunID: runID, States: []store.State{store.Accepted}, Limit: 5000}
	for {
		rows, err := st.ListLedger(ctx, f)
		if err != nil {
			return n, first, last, fmt.Errorf("list ledger: %w", err)
		}
		if len(rows) == 0 {
			return n, first, last, nil
		}
		for _, r := range rows {
			n++
			if first.IsZero() || r.UpdatedAt.Before(first) {
				first = r.UpdatedAt
			}
			if r.UpdatedAt.After(last) {
				last = r.UpdatedAt
			}
		}
		f.AfterID = rows[len(rows)-1].ID
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// walNote describes the SQLite write-ahead log left next to db, whose
// growth tells whether checkpoints kept up with the writers.
func walNote(db string) string {
	fi, err := os.Stat(db + "-wal")
	if err != nil {
		return "SQLite WAL: none"
	}
	return fmt.Sprintf("SQLite WAL at the end: %.0f MB", float64(fi.Size())/(1<<20))
}
