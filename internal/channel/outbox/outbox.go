// Package outbox writes delivered messages as files instead of handing them
// to a provider, for embedded mode and tests. Every channel (email .eml, SMS
// .json, print .pdf) shares it so that a reader never sees half a file: each
// file is written to a temporary name in the same directory, synced, then
// renamed into place, which is atomic on POSIX file systems.
package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrInvalidName is returned by Write when name is empty, is "." or "..",
// contains a path separator or a NUL byte, or starts with "." (temporary
// files start with "." so that a watcher can ignore them). Names come from
// ledger ids, so a bad one is a programming error, not a retryable failure.
var ErrInvalidName = errors.New("outbox: invalid file name")

// Write stores data as dir/name atomically and returns the final path. The
// directory is created (0o700) when missing; the file is 0o600 (messages
// hold personal data). A file of the
// same name is replaced, which makes a retried delivery idempotent. Errors
// wrap ErrInvalidName or the underlying file-system error.
func Write(dir, name string, data []byte) (path string, err error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("outbox: create directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("outbox: create temporary file: %w", err)
	}
	// Remove the temporary file on every failure path; after a successful
	// rename the name no longer exists and Remove is a harmless no-op.
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return "", fmt.Errorf("outbox: write %s: %w", name, err)
	}
	// Sync before rename so that a crash cannot leave a complete-looking name
	// pointing at an empty file.
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("outbox: sync %s: %w", name, err)
	}
	if err = tmp.Chmod(0o600); err != nil {
		return "", fmt.Errorf("outbox: chmod %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("outbox: close %s: %w", name, err)
	}
	path = filepath.Join(dir, name)
	if err = os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("outbox: rename %s: %w", name, err)
	}
	return path, nil
}

func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: %q starts with a dot", ErrInvalidName, name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("%w: %q contains a separator", ErrInvalidName, name)
	}
	return nil
}
