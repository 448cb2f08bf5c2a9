package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is a relais subprocess whose wall time, CPU and peak RSS are
// measured by the kernel, so the numbers include everything the process
// did, not what it chose to report.
//
// The peak RSS is the kernel's VmHWM of the process, read from
// /proc/<pid>/status every 20 ms until it exits, not wait4's ru_maxrss:
// Linux folds the high-water mark of the address space a process leaves
// at exec into ru_maxrss, and os/exec starts children with vfork
// semantics, so ru_maxrss is never below the harness's own peak (which
// grows with the in-process SMTP server, Twilio double and baselines:
// it made the SMS worker look 400–800 MB large). VmHWM starts from zero
// at exec. ru_maxrss is kept only where /proc cannot be read.
type proc struct {
	name   string
	cmd    *exec.Cmd
	start  time.Time
	stdout bytes.Buffer
	logf   *os.File
	done   chan struct{}
	err    error
	hwmKB  atomic.Int64 // the last VmHWM read, kB
}

// procStats is what a finished process cost.
type procStats struct {
	Wall     time.Duration
	MaxRSSMB float64 // peak resident set (VmHWM), MiB
	CPU      time.Duration
}

// startRelais starts bin/relais with args in dir, environment env, its
// stderr (logs) appended to logPath.
func startRelais(ctx context.Context, bin, dir, logPath string, env []string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("relais log: %w", err)
	}
	p := &proc{name: strings.Join(args, " "), logf: logf, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = logf
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start relais %s: %w", p.name, err)
	}
	go p.watchHWM()
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = p.cmd.Process.Kill()
		case <-p.done:
		}
	}()
	return p, nil
}

// wait waits for the process to exit and returns its stats; a non-zero
// exit is an error carrying the tail of its log.
func (p *proc) wait() (procStats, error) {
	<-p.done
	st := p.stats()
	if p.err != nil {
		return st, fmt.Errorf("relais %s: %w (see %s)", p.name, p.err, p.logf.Name())
	}
	return st, nil
}

// stop sends SIGTERM (graceful shutdown), waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) (procStats, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	st := p.stats()
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		return st, p.err
	}
	return st, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stats() procStats {
	st := procStats{Wall: time.Since(p.start)}
	if ps := p.cmd.ProcessState; ps != nil {
		if kb := p.hwmKB.Load(); kb > 0 {
			st.MaxRSSMB = float64(kb) / 1024
		} else if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			st.MaxRSSMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		}
		st.CPU = ps.UserTime() + ps.SystemTime()
	}
	return st
}

// watchHWM keeps the process's VmHWM in p.hwmKB until it exits.
func (p *proc) watchHWM() {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if kb, ok := readHWM(path); ok && kb > p.hwmKB.Load() {
			p.hwmKB.Store(kb)
		}
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// readHWM returns the VmHWM line of a /proc status file, in kB.
func readHWM(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}
