package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestMigratePostgres: `relais migrate --json` applies every migration
// once, a second call applies none, and a database migrated by a newer
// relais makes every command (serve included) refuse, naming both
// versions.
func TestMigratePostgres(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	t.Chdir(t.TempDir())
	c := &cli{t: t, env: map[string]string{"RELAIS_DATABASE_URL": dbURL, "RELAIS_SECRET": "test-secret-0123456789abcdef",
		"RELAIS_DATABASE_MAX_CONNS": "4"}}
	ctx := context.Background()
	var first, second struct {
		Before  int64   `json:"before"`
		Version int64   `json:"version"`
		Applied []int64 `json:"applied"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "migrate", "--json").stdout), &first); err != nil {
		t.Fatal(err)
	}
	if first.Before != 0 || first.Version < 20 || len(first.Applied) == 0 || first.Applied[len(first.Applied)-1] != first.Version {
		t.Fatalf("first migrate: %+v", first)
	}
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "migrate", "--json").stdout), &second); err != nil {
		t.Fatal(err)
	}
	if second.Before != first.Version || len(second.Applied) != 0 {
		t.Fatalf("second migrate: %+v, want nothing applied", second)
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	newer := first.Version + 1000
	if _, err := conn.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, newer); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate"}, {"serve", "--roles", "worker"}} {
		r := c.run(ctx, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "database schema is at version") ||
			!strings.Contains(r.stderr, "knows versions up to") {
			t.Errorf("relais %s on a newer schema: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
