package sqlstore

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/relais-dev/relais/internal/store"
)

var postgresDialect = &dialect{
	name:  "postgres",
	mark:  "$",
	goose: goose.DialectPostgres,
	array: true,
	// UpsertContacts is serialized across connections and processes for
	// the transaction, as SQLite's single writer does, so two imports of
	// the same person cannot both insert it. The candidates' lookups
	// (pgMatchCandidates) then run without bitmap scans, for the
	// transaction only: the planner, misled by stale statistics while an
	// import grows the table, chose a bitmap scan for each probe of an
	// email or phone, at three times the cost of a plain index scan (17 →
	// ~8 ms per 1,000 contacts at 1,000,000 stored).
	lock: `SELECT pg_advisory_xact_lock(7226371940652601344), set_config('enable_bitmapscan', 'off', true)`,
	// Rows are locked in id order, so two transactions locking the same
	// contacts cannot deadlock.
	lockRows: ` ORDER BY id FOR UPDATE`,
	// An unnamed statement plans with the actual arrays each time: the
	// cached generic plan of the candidates' OR of three ANYs degrades to
	// a sequential scan after a few calls.
	exact:         []any{pgx.QueryExecModeExec},
	insertLedger:  pgInsertLedger,
	insertEvents:  pgInsertEvents,
	writeContacts: pgWriteContacts,
	sql: map[string]string{
		"timeline":    fmt.Sprintf(timelineSQL, pgHour("updated_at"), pgHour("at")),
		"eraseEvents": `UPDATE events SET detail = '', url = split_part(split_part(url, '?', 1), '#', 1) WHERE contact_id = $1`,
		// The erased values stay in dead row versions until a vacuum: run
		// one on the touched tables at once (outside any transaction).
		"eraseAfter":        `VACUUM contacts, events, ledger_payloads`,
		"hasPayloads":       `SELECT to_regclass('ledger_payloads') IS NOT NULL`,
		"lastTouchOrder":    ` ORDER BY created_at DESC, id DESC LIMIT 1`,
		"settleRows":        `jsonb_to_recordset(CAST($3 AS jsonb)) AS v(id text, reason text, provider_id text, error text, segments integer)`,
		"settleStates":      `(SELECT jsonb_array_elements_text(CAST($4 AS jsonb)))`,
		"matchCandidates":   pgMatchCandidates,
		"marketingSentMany": pgMarketingSentMany,
	},
}

// pgMarketingSentMany is qMarketingSentSinceMany for PostgreSQL: one
// count per contact, each a lookup of that contact's rows through
// ledger_contact. The plain "contact_id = ANY($2)" let the planner, while
// a run's expansion had just filled the ledger and autovacuum had not yet
// analyzed it, take the hundred ids for half the table and read the whole
// ledger on every batch of sends (3–25 ms per batch of 100 at 30,000 rows,
// growing with the ledger).
var pgMarketingSentMany = `SELECT k.id, m.n FROM unnest(CAST($2 AS bigint[])) AS k (id) CROSS JOIN LATERAL (
	SELECT count(*) AS n FROM ledger WHERE contact_id = k.id AND ` + marketingSentRows + `) m
WHERE m.n > 0`

// pgMatchCandidates is qMatchCandidates for PostgreSQL, taking the
// external ids, normalized emails and phones as three arrays: one index
// probe per key (the OFFSET 0 keeps each lateral lookup a parameterized
// index scan), then the matched ids through the primary key. The plain
// "external_id = ANY … OR email_norm = ANY … OR phone = ANY …" lets the
// planner misjudge how many rows match while the table grows faster than
// autovacuum analyzes it, and walk the whole table in id order: its cost
// grew with the table (10 ms per 1,000 contacts at 15,000 stored, 130 ms
// at 300,000).
var pgMatchCandidates = `SELECT ` + contactCols + ` FROM contacts WHERE id = ANY(ARRAY(
	SELECT m.id FROM unnest($1::text[]) AS k (v) CROSS JOIN LATERAL (SELECT id FROM contacts WHERE external_id = k.v OFFSET 0) m
	UNION ALL
	SELECT m.id FROM unnest($2::text[]) AS k (v) CROSS JOIN LATERAL (SELECT id FROM contacts WHERE email_norm = k.v OFFSET 0) m
	UNION ALL
	SELECT m.id FROM unnest($3::text[]) AS k (v) CROSS JOIN LATERAL (SELECT id FROM contacts WHERE phone = k.v OFFSET 0) m))`

// pgHour truncates a timestamp to its hour in UTC whatever the session's
// time zone.
func pgHour(col string) string { return "date_trunc('hour', " + col + " AT TIME ZONE 'UTC')" }

// OpenPostgres connects to the database at url (postgres:// or
// postgresql://, pgx's options accepted; pool_max_conns defaults to
// max(16, 4×GOMAXPROCS), and bounds the pool) and applies the embedded
// migrations under a PostgreSQL advisory lock, so processes starting
// together migrate once. Errors never contain the URL's password.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
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
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		// Every statement here reads or writes a batch through indexes:
		// compiling one costs more than running it. Row estimates drift
		// while an expansion grows a table faster than autovacuum
		// analyzes it, and past jit_above_cost PostgreSQL spent 150 ms
		// compiling a 1 ms contact lookup.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", Redact(url), err)
	}
	// database/sql over the bounded pgx pool: its own pool is capped at
	// the same size so it never waits on pgxpool for a connection it
	// thinks it has.
	db := stdlib.OpenDBFromPool(pool)
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	s := &Store{d: postgresDialect, w: db, r: db, now: func() time.Time { return time.Now().UTC() },
		close: func() error { pool.Close(); return nil }}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	if err := s.start(ctx, goose.WithSessionLocker(locker)); err != nil {
		return nil, err
	}
	return s, nil
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

// pgLedgerChunk bounds the arrays of one INSERT so memory stays flat for
// very large calls.
const pgLedgerChunk = 5000

// pgInsertLedger inserts one array per column: a single statement of
// fixed text whatever the batch, so no placeholder limit and one plan.
func pgInsertLedger(ctx context.Context, ex execer, rows []store.LedgerRow, now time.Time) (int, error) {
	total := 0
	for start := 0; start < len(rows); start += pgLedgerChunk {
		n, err := affected(ex.ExecContext(ctx, qPGInsertLedger, ledgerArrays(rows[start:min(start+pgLedgerChunk, len(rows))], now)...))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func pgInsertEvents(ctx context.Context, ex execer, evs []store.Event, now time.Time) (int, error) {
	return affected(ex.ExecContext(ctx, qPGInsertEvents, eventArrays(evs, now)...))
}

// ledgerArrays turns rows into the 16 column arrays of qInsertLedger.
func ledgerArrays(rows []store.LedgerRow, now time.Time) []any {
	n := len(rows)
	var (
		ids, campaigns, steps, channels = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		purposes, states, reasons, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		runIDs, contactIDs              = make([]int64, n), make([]int64, n)
		attempts, segments              = make([]int32, n), make([]int32, n)
		providers                       = make([]*string, n)
		notBefore                       = make([]*time.Time, n)
		created, updated                = make([]time.Time, n), make([]time.Time, n)
	)
	for i, r := range rows {
		r = fillLedger(r, now)
		ids[i], states[i] = r.ID, string(r.State)
		runIDs[i], campaigns[i], steps[i], contactIDs[i] = r.RunID, r.CampaignID, r.StepID, r.ContactID
		channels[i], purposes[i], reasons[i], errs[i] = r.Channel, r.Purpose, r.Reason, r.Error
		attempts[i], segments[i] = int32(r.Attempts), int32(r.Segments)
		if r.ProviderID != "" {
			p := r.ProviderID
			providers[i] = &p
		}
		if !r.NotBefore.IsZero() {
			nb := r.NotBefore.UTC()
			notBefore[i] = &nb
		}
		created[i], updated[i] = r.CreatedAt, r.UpdatedAt
	}
	return []any{ids, runIDs, campaigns, steps, contactIDs, channels, purposes, states,
		reasons, providers, errs, attempts, segments, notBefore, created, updated}
}

// eventArrays turns evs into the 14 column arrays of qInsertEvents.
func eventArrays(evs []store.Event, now time.Time) []any {
	n := len(evs)
	var (
		ledgers, campaigns, steps, channels = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		types, urls, currencies, details    = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		runIDs, contactIDs                  = make([]int64, n), make([]int64, n)
		machines                            = make([]bool, n)
		values                              = make([]float64, n)
		dedupe                              = make([]*string, n)
		ats                                 = make([]time.Time, n)
	)
	for i, e := range evs {
		ledgers[i], runIDs[i], campaigns[i], steps[i] = e.LedgerID, e.RunID, e.CampaignID, e.StepID
		contactIDs[i], channels[i], types[i], machines[i] = e.ContactID, e.Channel, e.Type, e.Machine
		urls[i], values[i], currencies[i], details[i] = e.URL, e.Value, e.Currency, e.Detail
		if e.DedupeKey != "" {
			k := e.DedupeKey
			dedupe[i] = &k
		}
		ats[i] = e.At
		if ats[i].IsZero() {
			ats[i] = now
		}
	}
	return []any{ledgers, runIDs, campaigns, steps, contactIDs, channels, types, machines,
		urls, values, currencies, details, dedupe, ats}
}

const (
	qPGInsertLedger = `INSERT INTO ledger (` + ledgerCols + `)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[],
	$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[],
	$14::timestamptz[], $15::timestamptz[], $16::timestamptz[])
ON CONFLICT DO NOTHING`

	// qPGInsertEvents joins the ledger so the run, campaign, step, contact
	// and channel a caller left empty come from the message's row; input
	// order is kept so event ids follow it.
	qPGInsertEvents = `INSERT INTO events (ledger_id, run_id, campaign_id, step_id, contact_id, channel,
	type, machine, url, value, currency, detail, dedupe_key, at)
SELECT v.ledger_id,
	CASE WHEN v.run_id <> 0 THEN v.run_id ELSE COALESCE(l.run_id, 0) END,
	CASE WHEN v.campaign_id <> '' THEN v.campaign_id ELSE COALESCE(l.campaign_id, '') END,
	CASE WHEN v.step_id <> '' THEN v.step_id ELSE COALESCE(l.step_id, '') END,
	CASE WHEN v.contact_id <> 0 THEN v.contact_id ELSE COALESCE(l.contact_id, 0) END,
	CASE WHEN v.channel <> '' THEN v.channel ELSE COALESCE(l.channel, '') END,
	v.type, v.machine, v.url, v.value, v.currency, v.detail, v.dedupe_key, v.at
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[],
	$7::text[], $8::bool[], $9::text[], $10::float8[], $11::text[], $12::text[], $13::text[],
	$14::timestamptz[]) WITH ORDINALITY
	AS v (ledger_id, run_id, campaign_id, step_id, contact_id, channel, type, machine, url,
		value, currency, detail, dedupe_key, at, n)
LEFT JOIN ledger l ON l.id = v.ledger_id
ORDER BY v.n
ON CONFLICT (dedupe_key) DO NOTHING`
)
