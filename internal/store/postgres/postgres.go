// Package postgres implements store.Store on PostgreSQL with pgx's native
// pool, for deployments where several hosts share one database.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/relais-dev/relais/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use by goroutines and by several processes.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres:// or postgresql://,
// pgx's options accepted; pool_max_conns defaults to max(16, 4×GOMAXPROCS)) and applies the embedded
// migrations under a PostgreSQL advisory lock, so processes starting
// together migrate once. Errors never contain the URL's password.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL: report only its redacted form.
		return nil, fmt.Errorf("postgres: invalid database URL %s", Redact(url))
	}
	if !strings.Contains(url, "pool_max_conns") {
		// Workers each commit small conditional updates, and every commit
		// waits for a WAL flush; more connections let PostgreSQL group
		// those flushes (pgx's default is only max(4, NumCPU)).
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", Redact(url), err)
	}
	s := &Store{pool: pool, now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations through database/sql, which
// goose needs, over the same pool.
func (s *Store) migrate(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: apply migrations: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Redact returns raw with any password replaced by "xxxxx", for errors
// and logs; a string that does not parse as a URL is hidden entirely since
// it may be a key=value DSN holding a password.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(unparsable database URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// notFound wraps store.ErrNotFound with what was looked up.
func notFound(what string) error { return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound) }
