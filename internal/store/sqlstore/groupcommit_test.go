package sqlstore

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestGroupCommitPreparesOutsideItsTransaction: a group of statements
// never seen before is committed although the writer pool has a single
// connection, which the group's transaction holds (preparing on the pool
// inside the transaction would wait for it forever); each statement is
// then prepared once and reused.
func TestGroupCommitPreparesOutsideItsTransaction(t *testing.T) {
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "g.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	g := newGroupCommitter(db)
	defer g.close()
	for round := range 2 {
		batch := []*execReq{
			{query: `INSERT INTO t (id, v) VALUES (?, ?)`, args: []any{2*round + 1, 1}, done: make(chan execRes, 1)},
			{query: `INSERT INTO t (v, id) VALUES (?, ?)`, args: []any{2, 2*round + 2}, done: make(chan execRes, 1)},
		}
		committed := make(chan struct{})
		go func() { g.commit(batch); close(committed) }()
		select {
		case <-committed:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the group commit did not end in 30 s", round)
		}
		for i, r := range batch {
			if res := <-r.done; res.err != nil || res.rows != 1 {
				t.Fatalf("round %d, statement %d: %d rows, %v", round, i, res.rows, res.err)
			}
		}
	}
	if len(g.stmts) != 2 {
		t.Errorf("%d statements prepared, want the 2 texts once each", len(g.stmts))
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d rows (%v), want 4", n, err)
	}
}
