// Package sqlstore implements store.Store once, over database/sql, for
// both SQLite (modernc.org/sqlite, no cgo, no server) and PostgreSQL
// (pgx's database/sql driver, for several hosts sharing one database).
//
// The SQL is written once with $n placeholders, which both engines read;
// a dialect holds only what truly differs: how timestamps are stored,
// list parameters (IN (…) against = ANY($n)), the bulk inserts, row
// locks and the migrations. The business rules (contact matching,
// consent resolution, the ledger state machine) are Go, here or in
// internal/store and internal/contact, so both backends share them.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/relais-dev/relais/internal/store"
)

//go:embed migrations
var migrations embed.FS

// Store is a store.Store on a SQLite file or a PostgreSQL database. It is
// safe for concurrent use by goroutines and by several processes.
type Store struct {
	d *dialect
	w *sql.DB // writes (SQLite: one connection; PostgreSQL: the pool)
	r *sql.DB // reads (SQLite: a read-only pool; PostgreSQL: the pool)

	insContact, updContact, getContact *sql.Stmt
	settle                             *sql.Stmt // store.BatchStore's Settle

	now    func() time.Time
	schema Schema
	group  *groupCommitter // SQLite's ledger transitions; nil on PostgreSQL
	close  func() error    // releases what the backend opened besides w and r
}

var _ store.Store = (*Store)(nil)

// start applies the migrations with p's options and prepares the hot
// statements; on error it closes s.
func (s *Store) start(ctx context.Context, opts ...goose.ProviderOption) error {
	if err := s.migrate(ctx, opts...); err != nil {
		s.Close()
		return err
	}
	if s.r == nil {
		s.r = s.w
	}
	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		q   string
	}{
		{s.w, &s.insContact, qInsertContact},
		{s.w, &s.updContact, qUpdateContact},
		{s.r, &s.getContact, qGetContact},
		{s.w, &s.settle, qSettle(s.d)},
	} {
		st, err := p.db.PrepareContext(ctx, p.q)
		if err != nil {
			s.Close()
			return s.errf("prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, opts ...goose.ProviderOption) error {
	fsys, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return s.errf("migrations: %w", err)
	}
	p, err := goose.NewProvider(s.d.goose, s.w, fsys, opts...)
	if err != nil {
		return s.errf("migrations: %w", err)
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return s.errf("read schema version: %w", err)
	}
	src := p.ListSources()
	known := src[len(src)-1].Version
	if cur > known {
		return &SchemaNewerError{Database: cur, Known: known}
	}
	res, err := p.Up(ctx)
	if err != nil {
		return s.errf("apply migrations: %w", err)
	}
	s.schema = Schema{Before: cur, Version: known}
	for _, r := range res {
		s.schema.Applied = append(s.schema.Applied, r.Source.Version)
	}
	return nil
}

// Schema describes the database schema as this process found and left it.
type Schema struct {
	Before  int64   `json:"before"`  // version found when the store opened
	Version int64   `json:"version"` // version now (the newest this binary knows)
	Applied []int64 `json:"applied"` // migrations this process applied
}

// Schema returns the schema versions seen and applied when s opened.
func (s *Store) Schema() Schema { return s.schema }

// SchemaNewerError is returned when the database was migrated by a newer
// relais: running an older binary on it could write what the new schema
// forbids, so every command refuses until relais is upgraded (or the
// database restored from a backup taken before the upgrade).
type SchemaNewerError struct{ Database, Known int64 }

func (e *SchemaNewerError) Error() string {
	return fmt.Sprintf("database schema is at version %d but this relais knows versions up to %d: "+
		"the database was upgraded by a newer relais; run that version (or restore a backup taken before the upgrade)", e.Database, e.Known)
}

// Close closes the database, after the pending grouped transitions.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	for _, st := range []*sql.Stmt{s.insContact, s.updContact, s.getContact, s.settle} {
		if st != nil {
			st.Close()
		}
	}
	var errs []error
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.close != nil {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// errf prefixes an error with the backend's name, so logs tell which
// database failed.
func (s *Store) errf(format string, args ...any) error {
	return fmt.Errorf(s.d.name+": "+format, args...)
}

// notFound wraps store.ErrNotFound with what was looked up.
func (s *Store) notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", s.d.name, fmt.Sprintf(format, args...), store.ErrNotFound)
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// queryAll runs a read query and scans every row with scan; what names the
// query in errors ("list runs", "ledger of contact 7").
func queryAll[T any](ctx context.Context, s *Store, what string, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.errf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.errf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("%s: %w", what, err)
	}
	return out, nil
}

// queryOne scans the single row of a read query; no row is ErrNotFound
// (wrapped with what).
func queryOne[T any](ctx context.Context, s *Store, db *sql.DB, what string, scan func(rowScanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(db.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, s.notFound("%s", what)
	}
	if err != nil {
		return v, s.errf("%s: %w", what, err)
	}
	return v, nil
}

// exec runs a write and returns its rows affected.
func (s *Store) exec(ctx context.Context, what, q string, args ...any) (int64, error) {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, s.errf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.errf("%s: %w", what, err)
	}
	return n, nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
