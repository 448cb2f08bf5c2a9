package sqlstore

// SQL of the events store, beside queries.go's.

// eventCols is the column list scanEvent reads, in its order.
const eventCols = `id, ledger_id, run_id, campaign_id, step_id, contact_id, channel, type,
	machine, url, CAST(value AS DOUBLE PRECISION), currency, detail, COALESCE(dedupe_key, ''), at`

const (
	// qListEvents is completed by ListEvents with one "AND column = $n"
	// per filter field set (so the planner can pick that column's index),
	// an optional "AND type <in>" and "ORDER BY id LIMIT $n".
	qListEvents = `SELECT ` + eventCols + ` FROM events WHERE id > $1`
)
