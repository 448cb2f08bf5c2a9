package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/relais-dev/relais/internal/store"
)

// SQLite allows one writer at a time, across connections and processes.
// The store therefore writes through a single connection whose
// transactions begin IMMEDIATE (they take the write lock up front instead
// of failing on a lock upgrade), and waits on busy_timeout for other
// processes; reads go through a separate read-only pool that WAL lets run
// beside the writer.

// busyTimeout is how long a statement waits for another process's write
// lock before failing with SQLITE_BUSY; long enough for a batch of 1,000
// contacts or ledger rows written by a concurrent CLI.
const busyTimeout = 30 * time.Second

var sqliteDialect = &dialect{
	name:         "sqlite",
	mark:         "?",
	goose:        goose.DialectSQLite3,
	text:         true,
	insertLedger: sqliteInsertLedger,
	insertEvents: sqliteInsertEvents,
	sql: map[string]string{
		"timeline": fmt.Sprintf(timelineSQL, sqliteHour("updated_at"), sqliteHour("at")),
		"eraseEvents": `UPDATE events SET detail = '',
	url = CASE WHEN instr(url, '?') > 0 THEN substr(url, 1, instr(url, '?') - 1) ELSE url END
WHERE contact_id = $1`,
		"hasPayloads":    `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_payloads'`,
		"lastTouchOrder": ` ORDER BY created_at DESC, seq DESC LIMIT 1`,
		"eraseBefore":    `PRAGMA secure_delete = ON`,
		"eraseAfter":     `PRAGMA wal_checkpoint(TRUNCATE)`,
		"settleRows": `(SELECT value->>'id' AS id, value->>'reason' AS reason, value->>'provider_id' AS provider_id,
	value->>'error' AS error, CAST(value->>'segments' AS INTEGER) AS segments FROM json_each($3)) AS v`,
		"settleStates": `(SELECT value FROM json_each($4))`,
	},
}

// textTime is how SQLite stores a timestamp: fixed-width UTC text, NULL
// for the zero time.
func textTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

// sqliteHour truncates a stored timestamp to its hour, as text timeDest
// reads ("2027-03-20T09" + ":00:00…Z").
func sqliteHour(col string) string {
	return "substr(" + col + ", 1, 13) || ':00:00.000000000Z'"
}

// OpenSQLite opens (creating it and its directory if needed) the SQLite
// database at path and applies the embedded migrations. Concurrent Opens
// of a new file from several processes are serialized by a lock on
// path+".lock". Errors name the step that failed; path is the caller's
// and may be logged.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create database directory: %w", err)
		}
	}
	// The database holds personal data: create it readable by its owner
	// only (SQLite gives its -wal and -shm files the same mode).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}
	f.Close()
	s := &Store{d: sqliteDialect, now: func() time.Time { return time.Now().UTC() }}
	if s.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open read pool: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	// goose has no locker for SQLite: a file lock serializes migrations.
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	err = s.start(ctx)
	unlock()
	if err != nil {
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
		// 16 MiB of page cache for the writer: ledger ids are hashes, so a
		// batch's inserts touch pages all over the indexes, and with the
		// default 2 MiB the cache spilled to the WAL mid-transaction. More
		// (64 MiB was tried) only grew the resident memory of workers and
		// of large expansions, at the same speed: pages it misses come
		// from the operating system's file cache.
		q.Add("_pragma", "cache_size(-16384)")
	}
	return "file:" + path + "?" + q.Encode()
}

// values returns "(?, …), (…)" for rows rows of cols placeholders, the
// multi-row VALUES of SQLite's bulk inserts (anonymous placeholders: they
// cost SQLite no name lookup).
func values(rows, cols int) string {
	var b strings.Builder
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// sqliteLedgerChunk rows per INSERT keeps 16 × 1000 placeholders under
// SQLite's 32,766-variable limit.
const sqliteLedgerChunk = 1000

// sqliteInsertLedger runs multi-row inserts, the statement of a full
// chunk prepared once.
func sqliteInsertLedger(ctx context.Context, ex execer, rows []store.LedgerRow, now time.Time) (int, error) {
	var (
		total int
		full  *sql.Stmt
		args  = make([]any, 0, 16*min(len(rows), sqliteLedgerChunk))
	)
	for start := 0; start < len(rows); start += sqliteLedgerChunk {
		chunk := rows[start:min(start+sqliteLedgerChunk, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			r = fillLedger(r, now)
			args = append(args, r.ID, r.RunID, r.CampaignID, r.StepID, r.ContactID, r.Channel,
				r.Purpose, string(r.State), r.Reason, nullStr(r.ProviderID), r.Error, r.Attempts,
				r.Segments, textTime(r.NotBefore), textTime(r.CreatedAt), textTime(r.UpdatedAt))
		}
		q := `INSERT INTO ledger (` + ledgerCols + `) VALUES ` + values(len(chunk), 16) + ` ON CONFLICT DO NOTHING`
		var n int
		var err error
		if len(chunk) == sqliteLedgerChunk {
			if full == nil {
				if full, err = ex.PrepareContext(ctx, q); err != nil {
					return 0, err
				}
				defer full.Close()
			}
			n, err = affected(full.ExecContext(ctx, args...))
		} else {
			n, err = affected(ex.ExecContext(ctx, q, args...))
		}
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// sqliteInsertEvents inserts up to eventChunk events in one statement.
func sqliteInsertEvents(ctx context.Context, ex execer, evs []store.Event, now time.Time) (int, error) {
	args := make([]any, 0, 15*len(evs))
	for i, e := range evs {
		if e.At.IsZero() {
			e.At = now
		}
		args = append(args, i, e.LedgerID, e.RunID, e.CampaignID, e.StepID, e.ContactID, e.Channel,
			e.Type, e.Machine, e.URL, e.Value, e.Currency, e.Detail, nullStr(e.DedupeKey), textTime(e.At))
	}
	return affected(ex.ExecContext(ctx, qSQLiteEventsHead+values(len(evs), 15)+qSQLiteEventsTail, args...))
}

const (
	// qSQLiteEventsHead is followed by values() rows and
	// qSQLiteEventsTail. The values join the ledger so the run, campaign,
	// step, contact and channel a caller left empty come from the
	// message's row in the same statement (no read before the write). A
	// row with a dedupe key already stored is skipped; "WHERE true" is
	// SQLite's required disambiguation between a join's ON and the
	// upsert's ON.
	qSQLiteEventsHead = `WITH v (n, ledger_id, run_id, campaign_id, step_id, contact_id, channel, type,
	machine, url, value, currency, detail, dedupe_key, at) AS (VALUES `
	qSQLiteEventsTail = `)
INSERT INTO events (ledger_id, run_id, campaign_id, step_id, contact_id, channel, type,
	machine, url, value, currency, detail, dedupe_key, at)
SELECT v.ledger_id,
	CASE WHEN v.run_id <> 0 THEN v.run_id ELSE COALESCE(l.run_id, 0) END,
	CASE WHEN v.campaign_id <> '' THEN v.campaign_id ELSE COALESCE(l.campaign_id, '') END,
	CASE WHEN v.step_id <> '' THEN v.step_id ELSE COALESCE(l.step_id, '') END,
	CASE WHEN v.contact_id <> 0 THEN v.contact_id ELSE COALESCE(l.contact_id, 0) END,
	CASE WHEN v.channel <> '' THEN v.channel ELSE COALESCE(l.channel, '') END,
	v.type, v.machine, v.url, v.value, v.currency, v.detail, v.dedupe_key, v.at
FROM v LEFT JOIN ledger l ON l.id = v.ledger_id
WHERE true
ORDER BY v.n
ON CONFLICT (dedupe_key) DO NOTHING`
)
