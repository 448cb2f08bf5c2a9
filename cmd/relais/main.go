// Command relais is the campaign-delivery engine's CLI and daemon.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stopProfile := startCPUProfile(os.Getenv("RELAIS_CPU_PROFILE"), os.Stderr)
	stopMemProfile := startMemProfile(os.Getenv("RELAIS_MEM_PROFILE"), os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	code := exitCode(err, os.Stderr)
	stopMemProfile()
	stopProfile()
	os.Exit(code)
}

// Exit codes, one table for every command (docs/operations.md): scripts
// and CI tell "fix your input" from "try again later" from "stopped".
const (
	exitOK          = 0   // done
	exitUser        = 1   // user error: bad file, validation, refused request
	exitInternal    = 2   // internal error or a service unavailable
	exitInterrupted = 130 // interrupted (SIGINT / SIGTERM), as shells report it
)

// userError marks an error caused by the user's input (exit 1).
type userError struct{ err error }

func (e userError) Error() string { return e.err.Error() }
func (e userError) Unwrap() error { return e.err }

// userErr wraps err as a user error.
func userErr(err error) error {
	if err == nil {
		return nil
	}
	return userError{err}
}

// userErrorf formats a user error.
func userErrorf(format string, a ...any) error { return userError{fmt.Errorf(format, a...)} }

// interrupted tells the user, on stderr, what an interruption left
// undone and the command that picks it up again (the same one: runs are
// idempotent by their key), and exits 130.
func (a *app) interrupted(what, resume string) error {
	fmt.Fprintf(a.stderr, "relais: interrupted; %s. Resume with:\n  %s\n", what, resume)
	return silentError{exitInterrupted}
}

// silentError carries an exit code for an error already printed.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var s silentError
	if errors.As(err, &s) {
		return s.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "relais: interrupted")
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "relais:", err)
	var u userError
	if errors.As(err, &u) {
		return exitUser
	}
	return exitInternal
}
