package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PostgreSQL writes a batch of contacts in at most three round trips
// (reserve ids, insert, update) with one array per column, instead of one
// statement per contact.

// contactWriteCols are the columns of qInsertContact but the timestamps,
// in its order; email_valid (index 7) is the only non-text one.
var contactWriteCols = strings.Fields(`external_id title first_name last_name company
	email email_norm email_valid phone phone_raw
	address_line1 address_line2 address_line3 address_line4 postcode city country
	locale timezone kind attrs consent`)

const emailValidCol = 7

// pgUnnest returns "unnest($1::text[], …) AS v (col, …, id)": the
// contact columns as arrays, then the ids as $n+1.
func pgUnnest() string {
	var arrays, names []string
	for i, c := range contactWriteCols {
		typ := "text[]"
		if i == emailValidCol {
			typ = "boolean[]"
		}
		arrays = append(arrays, "$"+strconv.Itoa(i+1)+"::"+typ)
		names = append(names, c)
	}
	n := len(contactWriteCols)
	arrays = append(arrays, "$"+strconv.Itoa(n+1)+"::bigint[]")
	return "unnest(" + strings.Join(arrays, ", ") + ") AS v (" + strings.Join(names, ", ") + ", id)"
}

// pgNullable are the columns contactArgs leaves NULL when empty (nullStr;
// a consent without a known answer). Their arrays carry "" for NULL, so
// that every text column travels as a []string, which pgx encodes
// without reflecting on each element (a []*string took a tenth of an
// expansion's CPU).
var pgNullable = map[string]bool{"external_id": true, "email_norm": true, "phone": true, "consent": true}

// pgValue is v's column as written: NULL for an empty nullable column,
// the JSON columns cast from text.
func pgValue(col string) string {
	v := "v." + col
	if pgNullable[col] {
		v = "NULLIF(" + v + ", '')"
	}
	if col == "attrs" || col == "consent" {
		v += "::jsonb"
	}
	return v
}

var (
	// qPGReserveContactIDs takes n ids from the contacts' identity, so the
	// insert knows which id each input gets. The sequence is looked up
	// once (OFFSET 0 keeps the subquery apart): pg_get_serial_sequence
	// reads the catalog on each call, 3.4 µs against 0.4 µs for nextval.
	qPGReserveContactIDs = `SELECT nextval(s.seq) FROM (SELECT CAST(pg_get_serial_sequence('contacts', 'id') AS regclass) AS seq OFFSET 0) s,
	generate_series(1, $1)`

	// qPGInsertContacts and qPGUpdateContacts take the arrays of pgUnnest
	// and the write time as the last parameter.
	qPGInsertContacts, qPGUpdateContacts = func() (string, string) {
		n := strconv.Itoa(len(contactWriteCols) + 2)
		var vals, sets []string
		for _, c := range contactWriteCols {
			vals = append(vals, pgValue(c))
			sets = append(sets, c+" = "+pgValue(c))
		}
		ins := "INSERT INTO contacts (id, " + strings.Join(contactWriteCols, ", ") + ", created_at, updated_at)\nSELECT v.id, " +
			strings.Join(vals, ", ") + ", $" + n + ", $" + n + "\nFROM " + pgUnnest()
		upd := "UPDATE contacts c SET " + strings.Join(sets, ", ") + ", updated_at = $" + n +
			"\nFROM " + pgUnnest() + "\nWHERE c.id = v.id"
		return ins, upd
	}()
)

func pgWriteContacts(ctx context.Context, tx *sql.Tx, upd, fresh []*slot, updArgs, freshArgs [][]any, now time.Time) error {
	if len(fresh) > 0 {
		rows, err := tx.QueryContext(ctx, qPGReserveContactIDs, len(fresh))
		if err != nil {
			return fmt.Errorf("reserve ids: %w", err)
		}
		for i := 0; rows.Next(); i++ {
			if err := rows.Scan(&fresh[i].id); err != nil {
				rows.Close()
				return fmt.Errorf("reserve ids: %w", err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reserve ids: %w", err)
		}
		if _, err := tx.ExecContext(ctx, qPGInsertContacts, pgContactArrays(fresh, freshArgs, now)...); err != nil {
			return fmt.Errorf("insert contacts: %w", err)
		}
	}
	if len(upd) > 0 {
		if _, err := tx.ExecContext(ctx, qPGUpdateContacts, pgContactArrays(upd, updArgs, now)...); err != nil {
			return fmt.Errorf("update contacts: %w", err)
		}
	}
	return nil
}

// pgContactArrays turns the contacts' column values (contactArgs) into
// pgUnnest's arrays, then the write time.
func pgContactArrays(slots []*slot, args [][]any, now time.Time) []any {
	out := make([]any, 0, len(contactWriteCols)+2)
	for j := range contactWriteCols {
		if j == emailValidCol {
			b := make([]bool, len(args))
			for i, a := range args {
				b[i] = a[j].(bool)
			}
			out = append(out, b)
			continue
		}
		t := make([]string, len(args))
		for i, a := range args {
			t[i], _ = a[j].(string) // nil (NULL) is "" (pgNullable)
		}
		out = append(out, t)
	}
	ids := make([]int64, len(slots))
	for i, sl := range slots {
		ids[i] = sl.id
	}
	return append(out, ids, now.UTC())
}
