package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Machine describes where and on what the benchmarks ran, so that a number
// in BENCHMARKS.md can be traced to its hardware and commit.
type Machine struct {
	Commit    string
	GoVersion string
	OS        string
	CPU       string
	Cores     int
	MaxProcs  int
	Memory    string
	Redis     string
	Database  string
}

// describeMachine collects the machine facts; missing ones (no git, no
// /proc) are reported as "unknown" rather than failing the run.
func describeMachine(ctx context.Context, dbs []string) Machine {
	m := Machine{
		Commit:    cmdOutput(ctx, "git", "rev-parse", "HEAD"),
		GoVersion: cmdOutput(ctx, "go", "version"),
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		Cores:     runtime.NumCPU(),
		MaxProcs:  runtime.GOMAXPROCS(0),
		Redis:     cmdOutput(ctx, "redis-server", "--version"),
	}
	var d []string
	for _, k := range dbs {
		switch k {
		case dbSQLite:
			d = append(d, "SQLite (modernc.org/sqlite, pure Go, in the relais process) in a temporary directory")
		case dbPostgres:
			d = append(d, "PostgreSQL "+postgresVersion(ctx)+" on 127.0.0.1, a throw-away database per run")
		}
	}
	m.Database = strings.Join(d, "; ")
	if dirty := cmdOutput(ctx, "git", "status", "--porcelain", "--untracked-files=no"); dirty != "unknown" && dirty != "" {
		m.Commit += " (working tree has uncommitted changes)"
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(f)
		f.Close()
	}
	if m.CPU == "" {
		m.CPU = "unknown"
	}
	m.Memory = "unknown"
	if f, err := os.Open("/proc/meminfo"); err == nil {
		if kb := memTotalKB(f); kb > 0 {
			m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
		f.Close()
	}
	return m
}

// cpuModel returns the first "model name" of a /proc/cpuinfo listing.
func cpuModel(r io.Reader) string {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotalKB returns MemTotal of a /proc/meminfo listing, 0 when absent.
func memTotalKB(r io.Reader) int64 {
	return procField(r, "MemTotal")
}

// procField returns the kB value of field in a /proc "Key:   123 kB"
// listing (/proc/meminfo, /proc/<pid>/status), 0 when absent.
func procField(r io.Reader, field string) int64 {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

// postgresVersion is the server_version of the PostgreSQL server the
// harness uses, "unknown" when it does not answer.
func postgresVersion(ctx context.Context) string {
	admin := os.Getenv("RELAIS_BENCH_DATABASE_URL")
	if admin == "" {
		admin = defaultPostgresAdmin
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "unknown"
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

func cmdOutput(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
