package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux the harness runs on).
const clockTick = 10 * time.Millisecond

// procCPU returns the user + system CPU time pid has used so far, from
// /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name (field 2) may contain spaces
// and parentheses, so fields are counted after its last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc stat line")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unreadable utime/stime in /proc stat line")
	}
	return time.Duration(u+s) * clockTick, nil
}

// redisPid is the pid of our redis-server (INFO server: process_id).
func (e *env) redisPid(ctx context.Context) (int, error) {
	info, err := e.rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, fmt.Errorf("redis info: %w", err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("redis info: no process_id")
}

// redisCPU is our redis-server's CPU time so far (0 when unreadable).
func (e *env) redisCPU(ctx context.Context) time.Duration {
	pid, err := e.redisPid(ctx)
	if err != nil {
		return 0
	}
	t, _ := procCPU(pid)
	return t
}

// cpuSplit is the CPU a measured phase cost, per process.
type cpuSplit struct {
	Relais, Redis, DB time.Duration
	DBMeasured        bool // false: SQLite, inside relais
}

// perMsg renders the split per message in microseconds.
func (c cpuSplit) perMsg(n int) string {
	if n <= 0 {
		return "—"
	}
	us := func(d time.Duration) string { return fmtNum(float64(d.Microseconds()) / float64(n)) }
	db := "in relais (SQLite in process)"
	if c.DBMeasured {
		db = us(c.DB) + " µs"
	}
	return fmt.Sprintf("relais %s µs, redis-server %s µs, database %s", us(c.Relais), us(c.Redis), db)
}

// totalPerMsg is the CPU of all three per message, in microseconds.
func (c cpuSplit) totalPerMsg(n int) float64 {
	return float64((c.Relais + c.Redis + c.DB).Microseconds()) / float64(n)
}
