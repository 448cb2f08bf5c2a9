package sqlite

// SQL of the events store (SPEC §7), beside queries.go's.

// eventCols is the column list scanEvent reads, in its order.
const eventCols = `id, ledger_id, run_id, campaign_id, step_id, contact_id, channel, type,
	machine, url, value, currency, detail, COALESCE(dedupe_key, ''), at`

// eventParams is the number of placeholders per row of insertEventsSQL.
const eventParams = 15

const (
	// qInsertEventsHead is followed by "(?, …), (?, …)" rows and
	// qInsertEventsTail. The values join the ledger so the run, campaign,
	// step, contact and channel a caller left empty come from the message's
	// row in the same statement (no read before the write). A row with a
	// dedupe key already stored is skipped; "WHERE true" is SQLite's
	// required disambiguation between a join's ON and the upsert's ON.
	qInsertEventsHead = `WITH v (n, ledger_id, run_id, campaign_id, step_id, contact_id, channel, type,
	machine, url, value, currency, detail, dedupe_key, at) AS (VALUES `
	qInsertEventsTail = `)
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

	// qListEvents is completed by ListEvents with one "AND column = ?" per
	// filter field set (so the planner can pick that column's index), an
	// optional "AND type IN (…)" and qListEventsEnd.
	qListEvents    = `SELECT ` + eventCols + ` FROM events WHERE id > ?`
	qListEventsEnd = ` ORDER BY id LIMIT ?`
)
