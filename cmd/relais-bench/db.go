package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultPostgresAdmin is the server the harness creates its throw-away
// databases on when RELAIS_BENCH_DATABASE_URL is unset (the local server
// on loopback, user postgres, trust authentication).
const defaultPostgresAdmin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Database kinds (-db).
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
)

// database is a fresh, empty database of one benchmark run: a SQLite file
// in the scratch directory, or a PostgreSQL database relais_bench_<random>
// created for it and dropped by drop. No other database is written to.
type database struct {
	Kind  string
	URL   string
	path  string // SQLite file
	name  string // PostgreSQL database
	admin string
}

// label names the kind for the report.
func (d *database) label() string {
	if d.Kind == dbPostgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// newDatabase makes a fresh database of kind for the run called name.
func (e *env) newDatabase(ctx context.Context, kind, dir, name string) (*database, error) {
	if kind == dbSQLite {
		p := filepath.Join(dir, name+".db")
		for _, f := range []string{p, p + "-wal", p + "-shm", p + ".lock"} {
			_ = os.Remove(f)
		}
		return &database{Kind: kind, URL: "sqlite:" + p, path: p}, nil
	}
	admin := os.Getenv("RELAIS_BENCH_DATABASE_URL")
	if admin == "" {
		admin = defaultPostgresAdmin
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w (set RELAIS_BENCH_DATABASE_URL or run with -db sqlite)", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var b [6]byte
	_, _ = rand.Read(b[:])
	d := &database{Kind: kind, name: "relais_bench_" + hex.EncodeToString(b[:]), admin: admin}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{d.name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", d.name, err)
	}
	u := conn.Config().ConnString()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, err
	}
	d.URL = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, d.name)
	if cfg.Password != "" {
		d.URL = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, d.name)
	}
	return d, nil
}

// drop removes a PostgreSQL database (ending its leftover connections
// first) or the SQLite files.
func (d *database) drop(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	if d.Kind == dbSQLite {
		for _, f := range []string{d.path, d.path + "-wal", d.path + "-shm", d.path + ".lock"} {
			_ = os.Remove(f)
		}
		return nil
	}
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("drop %s: %w", d.name, err)
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, d.name)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()); err != nil {
		return fmt.Errorf("drop %s: %w", d.name, err)
	}
	return nil
}

// cpuSampler adds up the CPU time of the PostgreSQL backends serving the
// database: every interval it lists their pids (pg_stat_activity) and
// reads each one's utime+stime from /proc; a backend's total is its last
// reading, so what a backend spends after its last sample (at most one
// interval) is missed. For SQLite it measures nothing: the database runs
// inside the relais process and is counted there.
type cpuSampler struct {
	mu     sync.Mutex
	last   map[int]time.Duration
	start  map[int]time.Duration
	stop   chan struct{}
	done   chan struct{}
	active bool
}

// sampleDB starts sampling d's backends.
func sampleDB(ctx context.Context, d *database) *cpuSampler {
	s := &cpuSampler{last: map[int]time.Duration{}, start: map[int]time.Duration{}, stop: make(chan struct{}), done: make(chan struct{})}
	if d.Kind != dbPostgres {
		close(s.done)
		return s
	}
	s.active = true
	go func() {
		defer close(s.done)
		conn, err := pgx.Connect(ctx, d.admin)
		if err != nil {
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sample(ctx, conn, d.name)
			select {
			case <-s.stop:
				s.sample(ctx, conn, d.name)
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *cpuSampler) sample(ctx context.Context, conn *pgx.Conn, name string) {
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	if err != nil {
		return
	}
	var pids []int
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			pids = append(pids, pid)
		}
	}
	rows.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pid := range pids {
		t, err := procCPU(pid)
		if err != nil {
			continue
		}
		if _, seen := s.last[pid]; !seen {
			s.start[pid] = 0 // a backend of our database started after us: all its CPU is ours
		}
		s.last[pid] = t
	}
}

// total stops sampling and returns the CPU time of the database's
// backends, and whether it was measured (false for SQLite).
func (s *cpuSampler) total() (time.Duration, bool) {
	if s.active {
		close(s.stop)
		s.active = false
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum time.Duration
	for pid, t := range s.last {
		sum += t - s.start[pid]
	}
	return sum, len(s.last) > 0
}
