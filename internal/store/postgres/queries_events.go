package postgres

// SQL of the events store (SPEC §7), beside queries.go's.

// eventCols is the column list scanEvent reads, in its order.
const eventCols = `id, ledger_id, run_id, campaign_id, step_id, contact_id, channel, type,
	machine, url, value::float8, currency, detail, COALESCE(dedupe_key, ''), at`

const (
	// qInsertEvents takes one array per column: one statement of fixed
	// text whatever the batch size, so one cached plan. The values join
	// the ledger so the run, campaign, step, contact and channel a caller
	// left empty come from the message's row in the same statement; input
	// order is kept so event ids follow it. A row whose dedupe key is
	// stored already (or repeated in the batch) is skipped.
	qInsertEvents = `INSERT INTO events (ledger_id, run_id, campaign_id, step_id, contact_id, channel,
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

	// qListEvents is completed by ListEvents with one "AND column = $n"
	// per filter field set, an optional type filter and "ORDER BY id
	// LIMIT $n".
	qListEvents = `SELECT ` + eventCols + ` FROM events WHERE id > $1`
)
