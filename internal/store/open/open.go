// Package open opens the store.Store a database URL names, so commands
// take one setting (RELAIS_DATABASE_URL or --db) for either backend.
package open

import (
	"context"
	"fmt"
	"strings"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
)

// Open opens the store at url:
//
//   - "postgres://…" or "postgresql://…": PostgreSQL (pgx URL options apply);
//   - "sqlite:path", "sqlite://path" or "sqlite:///abs/path": SQLite at path;
//   - anything else without a scheme: a SQLite file path.
//
// Both backends apply their migrations. An empty url or an unknown scheme
// is an error; errors show the URL with its password redacted.
func Open(ctx context.Context, url string) (store.Store, error) {
	kind, target, err := Parse(url)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "postgres":
		s, err := sqlstore.OpenPostgres(ctx, target)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		s, err := sqlstore.OpenSQLite(ctx, target)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Parse splits url into the backend ("sqlite" or "postgres") and what that
// backend's Open takes (a file path or the PostgreSQL URL), without opening
// anything; commands use it to validate configuration early.
func Parse(url string) (kind, target string, err error) {
	u := strings.TrimSpace(url)
	switch {
	case u == "":
		return "", "", fmt.Errorf("store: empty database URL")
	case hasPrefixFold(u, "postgres://"), hasPrefixFold(u, "postgresql://"):
		return "postgres", u, nil
	case hasPrefixFold(u, "sqlite://"):
		u = u[len("sqlite://"):]
	case hasPrefixFold(u, "sqlite:"):
		u = u[len("sqlite:"):]
	case strings.Contains(u, "://"):
		return "", "", fmt.Errorf("store: unsupported database URL %s (want postgres://, sqlite: or a file path)", sqlstore.Redact(u))
	}
	if u == "" {
		return "", "", fmt.Errorf("store: database URL %q has no file path", url)
	}
	return "sqlite", u, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
