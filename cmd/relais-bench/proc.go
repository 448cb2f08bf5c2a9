package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// proc is a relais subprocess whose wall time and peak RSS are measured
// by the kernel (wait4 rusage), so the numbers include everything the
// process did, not what it chose to report.
type proc struct {
	name   string
	cmd    *exec.Cmd
	start  time.Time
	stdout bytes.Buffer
	logf   *os.File
	done   chan struct{}
	err    error
}

// procStats is what a finished process cost.
type procStats struct {
	Wall     time.Duration
	MaxRSSMB float64 // peak resident set (ru_maxrss), MiB
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
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			st.MaxRSSMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		}
		st.CPU = ps.UserTime() + ps.SystemTime()
	}
	return st
}
