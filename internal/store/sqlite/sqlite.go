// Package sqlite implements store.Store on a SQLite file with the pure-Go
// modernc.org/sqlite driver, so the single binary needs no cgo and no
// server.
//
// SQLite allows one writer at a time, across connections and processes.
// Store therefore writes through a single connection whose transactions
// begin IMMEDIATE (they take the write lock up front instead of failing on
// a lock upgrade), and waits on busy_timeout for other processes; reads go
// through a separate read-only pool that WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/relais-dev/relais/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a statement waits for another process's write
// lock before failing with SQLITE_BUSY; long enough for a batch of 1,000
// contacts or ledger rows written by a concurrent CLI.
const busyTimeout = 30 * time.Second

// Store is a store.Store on one SQLite file. It is safe for concurrent use
// by goroutines and by several processes on the same file.
type Store struct {
	w *sql.DB // one connection: every write goes through it
	r *sql.DB // read-only pool

	insContact, updContact  *sql.Stmt
	byExt, byEmail, byPhone *sql.Stmt
	getContact              *sql.Stmt
	now                     func() time.Time
	group                   *groupCommitter // ledger transitions
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the SQLite database
// at path and applies the embedded migrations. Concurrent Opens of a new
// file from several processes are serialized by a lock on path+".lock".
// Errors name the step that failed; path is the caller's and may be logged.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create database directory: %w", err)
		}
	}
	s := &Store{now: func() time.Time { return time.Now().UTC() }}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx, path); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open read pool: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.group = newGroupCommitter(s.w)
	return s, nil
}

// dsn builds the modernc DSN. WAL lets readers run beside the writer;
// synchronous=NORMAL is durable across application crashes in WAL mode
// (only an OS crash can lose the last commits) and much faster than FULL.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		// 64 MiB of page cache for the writer: ledger ids are hashes, so a
		// batch's inserts touch pages all over the indexes, and with the
		// default 2 MiB the cache spilled to the WAL mid-transaction.
		q.Add("_pragma", "cache_size(-65536)")
	}
	return "file:" + path + "?" + q.Encode()
}

// migrate applies the embedded migrations under the cross-process lock.
func (s *Store) migrate(ctx context.Context, path string) error {
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer unlock()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, fsys)
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: apply migrations: %w", err)
	}
	return nil
}

// prepare compiles the per-contact statements of the upsert hot path once.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		q   string
	}{
		{s.w, &s.insContact, qInsertContact},
		{s.w, &s.updContact, qUpdateContact},
		{s.w, &s.byExt, qContactByExternalID},
		{s.w, &s.byEmail, qContactByEmail},
		{s.w, &s.byPhone, qContactByPhone},
		{s.r, &s.getContact, qGetContact},
	} {
		st, err := p.db.PrepareContext(ctx, p.q)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	for _, st := range []*sql.Stmt{s.insContact, s.updContact, s.byExt, s.byEmail, s.byPhone, s.getContact} {
		if st != nil {
			st.Close()
		}
	}
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// timeFormat is fixed-width so stored timestamps sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// fmtNullTime maps the zero time to NULL (not_before "now").
func fmtNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad stored timestamp: %w", err)
	}
	return t, nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
