package postgres

// The SQL of this backend, named and in one place (DESIGN convention 12).
// pgx prepares and caches each statement on first use per connection.

// contactCols is the column list scanContact reads, in its order.
const contactCols = `id, external_id, title, first_name, last_name, company,
	email, email_norm, email_valid, phone, phone_raw,
	address_line1, address_line2, address_line3, address_line4, postcode, city, country,
	locale, timezone, kind, attrs, consent, created_at, updated_at, erased_at`

const (
	// qLockUpserts serializes UpsertContacts across connections and
	// processes for the transaction, as SQLite's single writer does, so two
	// imports of the same person cannot both insert it.
	qLockUpserts = `SELECT pg_advisory_xact_lock(7226371940652601344)`

	// qMatchCandidates loads, and locks, every stored contact a batch could
	// match; the matching rules themselves run in Go.
	qMatchCandidates = `SELECT ` + contactCols + ` FROM contacts
WHERE external_id = ANY($1) OR email_norm = ANY($2) OR phone = ANY($3)
ORDER BY id FOR UPDATE`

	qInsertContact = `INSERT INTO contacts (external_id, title, first_name, last_name, company,
	email, email_norm, email_valid, phone, phone_raw,
	address_line1, address_line2, address_line3, address_line4, postcode, city, country,
	locale, timezone, kind, attrs, consent, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
	$19, $20, $21, $22, $23, $24)
RETURNING id`

	qUpdateContact = `UPDATE contacts SET external_id = $1, title = $2, first_name = $3, last_name = $4,
	company = $5, email = $6, email_norm = $7, email_valid = $8, phone = $9, phone_raw = $10,
	address_line1 = $11, address_line2 = $12, address_line3 = $13, address_line4 = $14,
	postcode = $15, city = $16, country = $17, locale = $18, timezone = $19, kind = $20,
	attrs = $21, consent = $22, updated_at = $23
WHERE id = $24`

	qGetContact      = `SELECT ` + contactCols + ` FROM contacts WHERE id = $1`
	qGetContactsByID = `SELECT ` + contactCols + ` FROM contacts WHERE id = ANY($1)`
	qScanContacts    = `SELECT ` + contactCols + ` FROM contacts WHERE id > $1 ORDER BY id LIMIT $2`
)

// runCols is the column list scanRun reads, in its order.
const runCols = `id, campaign_id, run_key, content_hash, state, dry_run, planned, created_at, updated_at`

const (
	qCreateRun = `INSERT INTO runs (campaign_id, run_key, content_hash, state, dry_run, planned, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (campaign_id, run_key) DO NOTHING
RETURNING ` + runCols

	qFindRun = `SELECT ` + runCols + ` FROM runs WHERE campaign_id = $1 AND run_key = $2`

	qGetRun = `SELECT ` + runCols + ` FROM runs WHERE id = $1`

	qListRuns = `SELECT ` + runCols + ` FROM runs
WHERE $1 = '' OR campaign_id = $1
ORDER BY id DESC LIMIT $2`

	qSetRunState = `UPDATE runs SET state = $1, planned = $2, updated_at = $3 WHERE id = $4`
)

// ledgerCols is the column list scanLedger reads, in its order.
const ledgerCols = `id, run_id, campaign_id, step_id, contact_id, channel, purpose, state,
	reason, provider_id, error, attempts, segments, not_before, created_at, updated_at`

const (
	// qInsertLedger takes one array per column: a single statement of
	// fixed size whatever the batch, so no placeholder limit and one plan.
	qInsertLedger = `INSERT INTO ledger (` + ledgerCols + `)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[],
	$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[],
	$14::timestamptz[], $15::timestamptz[], $16::timestamptz[])
ON CONFLICT DO NOTHING`

	qGetLedger = `SELECT ` + ledgerCols + ` FROM ledger WHERE id = $1`

	qGetLedgerByProvider = `SELECT ` + ledgerCols + ` FROM ledger WHERE provider_id = $1 ORDER BY id LIMIT 1`

	// qTransition is the whole state move in one conditional statement, so
	// two workers cannot both claim a row; an empty change field keeps
	// the stored value.
	qTransition = `UPDATE ledger SET state = $1,
	reason = CASE WHEN $2::text = '' THEN reason ELSE $2::text END,
	provider_id = COALESCE($3::text, provider_id),
	error = CASE WHEN $4::text = '' THEN error ELSE $4::text END,
	segments = CASE WHEN $5::int = 0 THEN segments ELSE $5::int END,
	not_before = COALESCE($6::timestamptz, not_before),
	attempts = attempts + $7::int,
	updated_at = $8
WHERE id = $9 AND state = ANY($10::text[])`

	// qListLedger is completed by ListLedger with "AND run_id = $n",
	// "AND state = ANY($n)" and qListLedgerEnd as the filter needs: fixed
	// predicates let the planner use the (run_id, state, id) index.
	qListLedger    = `SELECT ` + ledgerCols + ` FROM ledger WHERE id > $1`
	qListLedgerEnd = ` ORDER BY id LIMIT `

	qCountLedger = `SELECT state, reason, count(*) FROM ledger WHERE run_id = $1 GROUP BY state, reason`

	qMarketingSentSince = `SELECT count(*) FROM ledger
WHERE contact_id = $1 AND purpose = 'marketing' AND updated_at >= $2
	AND state IN ('submitting', 'accepted', 'delivered', 'bounced', 'ambiguous')`
)

// suppressionRank orders reasons by how much they block, strongest first,
// so Suppressed reports the one that decides.
const suppressionRank = `CASE reason WHEN 'erased' THEN 0 WHEN 'manual' THEN 1
	WHEN 'hard_bounce' THEN 2 WHEN 'opted_out' THEN 3 ELSE 4 END`

const (
	qSuppress   = `INSERT INTO suppressions (key, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
	qSuppressed = `SELECT reason FROM suppressions WHERE key = $1 ORDER BY ` + suppressionRank + ` LIMIT 1`

	qSetConsent = `INSERT INTO consents (contact_id, channel, purpose, granted, source, text, at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET
	granted = excluded.granted, source = excluded.source, text = excluded.text, at = excluded.at`

	qConsent = `SELECT granted, source, text, at FROM consents
WHERE contact_id = $1 AND channel = $2 AND purpose = $3`

	// qImportedConsent reads the consent column an import filled, for
	// marketing; NULL when the channel is unknown.
	qImportedConsent = `SELECT (consent ->> $1)::boolean, updated_at FROM contacts WHERE id = $2`
)
