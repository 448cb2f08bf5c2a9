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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit codes (docs/operations.md): 0 success, 1 user error (invalid file, refused
// input), 2 internal or infrastructure error.
const (
	exitOK       = 0
	exitUser     = 1
	exitInternal = 2
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
	fmt.Fprintln(stderr, "relais:", err)
	var u userError
	if errors.As(err, &u) {
		return exitUser
	}
	return exitInternal
}
