package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// SQLite has one writer: each autocommit statement pays for its own
// transaction (lock, WAL frames, write calls), which made the three ledger
// transitions of every send the bottleneck of the send path. Transitions
// are therefore group-committed: callers queue their statement and wait;
// one goroutine runs whatever is queued in a single transaction and gives
// each caller its own result. A caller still returns only after its
// change is committed, so the ledger's guarantees are unchanged.

// maxGroup bounds the statements committed together.
const maxGroup = 256

type execReq struct {
	query string
	args  []any
	done  chan execRes
}

type execRes struct {
	rows int64
	err  error
}

type groupCommitter struct {
	db   *sql.DB
	reqs chan *execReq
	stop chan struct{}
	wg   sync.WaitGroup
	pool sync.Pool
	// stmts are the statements prepared by the loop, by query: the
	// transitions are a handful of texts run thousands of times, and
	// SQLite's prepare cost as much as their execution. Only the loop's
	// goroutine touches the map.
	stmts map[string]*sql.Stmt
}

// maxStmts bounds the prepared statements kept.
const maxStmts = 64

func newGroupCommitter(db *sql.DB) *groupCommitter {
	g := &groupCommitter{db: db, reqs: make(chan *execReq, maxGroup), stop: make(chan struct{}), stmts: map[string]*sql.Stmt{}}
	g.pool.New = func() any { return &execReq{done: make(chan execRes, 1)} }
	g.wg.Add(1)
	go g.loop()
	return g
}

// exec runs query in the next group commit and returns its rows affected.
func (g *groupCommitter) exec(ctx context.Context, query string, args ...any) (int64, error) {
	r := g.pool.Get().(*execReq)
	r.query, r.args = query, args
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		g.pool.Put(r)
		return 0, ctx.Err()
	case <-g.stop:
		g.pool.Put(r)
		return 0, sql.ErrConnDone
	}
	// Once queued the statement will run: wait for its result even if ctx
	// ends, so the caller never mistakes a committed change for a failed
	// one.
	res := <-r.done
	r.query, r.args = "", nil
	g.pool.Put(r)
	return res.rows, res.err
}

func (g *groupCommitter) loop() {
	defer g.wg.Done()
	batch := make([]*execReq, 0, maxGroup)
	for {
		select {
		case <-g.stop:
			return
		case r := <-g.reqs:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxGroup {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		g.commit(batch)
	}
}

// commit runs batch in one transaction. A failing statement fails alone
// (SQLite undoes just that statement); a failing commit fails them all.
func (g *groupCommitter) commit(batch []*execReq) {
	ctx := context.Background()
	if len(batch) == 1 {
		r := batch[0]
		var (
			res sql.Result
			err error
		)
		if st := g.stmt(ctx, r.query); st != nil {
			res, err = st.ExecContext(ctx, r.args...)
		} else {
			res, err = g.db.ExecContext(ctx, r.query, r.args...)
		}
		r.done <- result(res, err)
		return
	}
	// Statements are prepared before the transaction takes the writer's
	// only connection: preparing on the pool inside it would wait for
	// that connection forever.
	stmts := make([]*sql.Stmt, len(batch))
	for i, r := range batch {
		stmts[i] = g.stmt(ctx, r.query)
	}
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			r.done <- execRes{err: fmt.Errorf("begin group commit: %w", err)}
		}
		return
	}
	out := make([]execRes, len(batch))
	for i, r := range batch {
		var res sql.Result
		if st := stmts[i]; st != nil {
			res, err = tx.StmtContext(ctx, st).ExecContext(ctx, r.args...)
		} else {
			res, err = tx.ExecContext(ctx, r.query, r.args...)
		}
		out[i] = result(res, err)
	}
	if err := tx.Commit(); err != nil {
		for _, r := range batch {
			r.done <- execRes{err: fmt.Errorf("group commit: %w", err)}
		}
		return
	}
	for i, r := range batch {
		r.done <- out[i]
	}
}

func result(res sql.Result, err error) execRes {
	if err != nil {
		return execRes{err: err}
	}
	n, err := res.RowsAffected()
	return execRes{rows: n, err: err}
}

// stmt returns query prepared once, or nil when it cannot be prepared
// (the statement then runs unprepared and reports its own error).
func (g *groupCommitter) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := g.stmts[query]; ok {
		return st
	}
	if len(g.stmts) >= maxStmts {
		return nil
	}
	st, err := g.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	g.stmts[query] = st
	return st
}

// close stops the loop after the statements already taken are committed.
func (g *groupCommitter) close() {
	close(g.stop)
	g.wg.Wait()
	for _, st := range g.stmts {
		st.Close()
	}
}
