package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultPostgresURL is the local server the tests try when
// RELAIS_TEST_DATABASE_URL is unset; it trusts user postgres on loopback.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURL creates a throw-away database relais_test_<random> on the
// server at RELAIS_TEST_DATABASE_URL (default: the local server on
// 127.0.0.1:5432) and returns its URL; t.Cleanup terminates its leftover
// connections and drops it. Only that database is ever written to. When no
// server answers, t is skipped (or failed under RELAIS_REQUIRE_SERVICES=1)
// through Missing.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("RELAIS_TEST_DATABASE_URL")
	if admin == "" {
		admin = defaultPostgresURL
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("RELAIS_TEST_DATABASE_URL: %v", err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	// A quick TCP probe first, so a machine without PostgreSQL skips at
	// once instead of waiting for pgx's connect timeout.
	conn, err := net.DialTimeout("tcp", host, time.Second)
	if err != nil {
		Missing(t, "PostgreSQL", "no server at "+host+" (set RELAIS_TEST_DATABASE_URL)")
		return ""
	}
	conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, admin)
	if err != nil {
		Missing(t, "PostgreSQL", "cannot connect to "+host+": "+err.Error())
		return ""
	}
	defer db.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "relais_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := db.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(t, admin, name) })
	u.Path = "/" + name
	return u.String()
}

// dropDatabase removes the test database, first ending the connections a
// test left open (a pool not closed, a killed worker), which would
// otherwise make DROP DATABASE fail.
func dropDatabase(t testing.TB, admin, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("drop test database %s: %v", name, err)
		return
	}
	defer db.Close(context.Background())
	if _, err := db.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		t.Errorf("end connections to %s: %v", name, err)
	}
	if _, err := db.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}
