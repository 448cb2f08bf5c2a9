package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/relais-dev/relais/internal/store"
)

// dialect is what differs between the two databases; everything else is
// shared SQL and Go.
type dialect struct {
	name     string            // "sqlite" or "postgres": errors and the migrations folder
	goose    goose.Dialect     // the migrations' dialect
	array    bool              // list parameters are one array ("= ANY($n)"), not "IN (?n, …)"
	mark     string            // prefix of generated placeholders (see in)
	text     bool              // timestamps are stored as fixed-width UTC text
	lock     string            // statement serializing contact upserts ("" when the transaction does)
	lockRows string            // suffix locking selected rows until commit (PostgreSQL)
	exact    []any             // leading arguments making a query plan with its actual values
	sql      map[string]string // the few statements written per dialect, by name

	// insertLedger and insertEvents are the bulk inserts.
	insertLedger func(ctx context.Context, ex execer, rows []store.LedgerRow, now time.Time) (int, error)
	insertEvents func(ctx context.Context, ex execer, evs []store.Event, now time.Time) (int, error)
	// writeContacts, when set, replaces the row-by-row statements of
	// UpsertContacts: it inserts fresh (setting their ids) and updates
	// upd, whose column values are given in qInsertContact order.
	writeContacts func(ctx context.Context, tx *sql.Tx, upd, fresh []*slot, updArgs, freshArgs [][]any, now time.Time) error
}

// execer is *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// affected returns res's rows affected, or err.
func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// timeFormat is fixed-width so timestamps stored as text sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// t is the argument storing a timestamp.
func (d *dialect) t(t time.Time) any {
	if d.text {
		return t.UTC().Format(timeFormat)
	}
	return t.UTC()
}

// nt is t with the zero time stored as NULL.
func (d *dialect) nt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.t(t)
}

// ts scans a timestamp column, NULL being the zero time, whichever way
// the dialect stores it.
func ts(t *time.Time) sql.Scanner { return timeDest{t} }

type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner for text (SQLite) and native (PostgreSQL)
// timestamps.
func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = v.UTC()
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("bad stored timestamp of type %T", src)
	}
	return nil
}

func (d timeDest) parse(s string) error {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("bad stored timestamp: %w", err)
		}
	}
	*d.t = t.UTC()
	return nil
}

// in returns the membership test of column in vals ("IN (?3, ?4)" or
// "= ANY($3)") with args extended by its arguments. Placeholders are
// numbered so they mix with the $n of the shared SQL; SQLite's are ?n
// because it looks named parameters ($n) up linearly, which made a list
// of thousands parse in quadratic time.
func in[T string | int64](d *dialect, args []any, vals []T) (string, []any) {
	if d.array {
		return "= ANY(" + d.mark + strconv.Itoa(len(args)+1) + ")", append(args, vals)
	}
	var b strings.Builder
	b.WriteString("IN (")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, v)
		b.WriteString(d.mark + strconv.Itoa(len(args)))
	}
	b.WriteString(")")
	return b.String(), args
}

// arg returns the next placeholder for args with v appended.
func arg(d *dialect, args []any, v any) (string, []any) {
	args = append(args, v)
	return d.mark + strconv.Itoa(len(args)), args
}

// states turns ledger states into strings for in.
func states(ss []store.State) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
