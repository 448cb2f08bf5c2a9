package sqlstore

import "github.com/relais-dev/relais/internal/store"

// The SQL of both backends, named and in one place. It uses $n
// placeholders, which SQLite and PostgreSQL both read; statements with a
// list parameter are completed with the dialect's in(), and the few that
// differ per engine are in the dialect's sql map.

// contactCols is the column list scanContact reads, in its order.
const contactCols = `id, external_id, title, first_name, last_name, company,
	email, email_norm, email_valid, phone, phone_raw,
	address_line1, address_line2, address_line3, address_line4, postcode, city, country,
	locale, timezone, kind, attrs, consent, created_at, updated_at, erased_at`

const (
	qInsertContact = `INSERT INTO contacts (external_id, title, first_name, last_name, company,
	email, email_norm, email_valid, phone, phone_raw,
	address_line1, address_line2, address_line3, address_line4, postcode, city, country,
	locale, timezone, kind, attrs, consent, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`

	qUpdateContact = `UPDATE contacts SET external_id = $1, title = $2, first_name = $3, last_name = $4,
	company = $5, email = $6, email_norm = $7, email_valid = $8, phone = $9, phone_raw = $10,
	address_line1 = $11, address_line2 = $12, address_line3 = $13, address_line4 = $14,
	postcode = $15, city = $16, country = $17, locale = $18, timezone = $19, kind = $20,
	attrs = $21, consent = $22, updated_at = $23
WHERE id = $24`

	// qMatchCandidates is completed with "external_id <in> OR email_norm
	// <in> OR phone <in>" and the dialect's row lock: every stored contact
	// a batch could match, for the matching rules in Go.
	qMatchCandidates = `SELECT ` + contactCols + ` FROM contacts WHERE `

	qGetContact = `SELECT ` + contactCols + ` FROM contacts WHERE id = $1`

	// qGetContactsByID is completed with the dialect's in().
	qGetContactsByID = `SELECT ` + contactCols + ` FROM contacts WHERE id `

	qScanContacts = `SELECT ` + contactCols + ` FROM contacts WHERE id > $1 ORDER BY id LIMIT $2`
)

// runCols is the column list scanRun reads, in its order.
const runCols = `id, campaign_id, run_key, content_hash, state, dry_run, planned, created_at, updated_at,
	paused_at, canceled_at, cancel_reason, resend_reason`

const (
	qCreateRun = `INSERT INTO runs (campaign_id, run_key, content_hash, state, dry_run, planned, created_at, updated_at, resend_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (campaign_id, run_key) DO NOTHING
RETURNING ` + runCols

	qFindRun = `SELECT ` + runCols + ` FROM runs WHERE campaign_id = $1 AND run_key = $2`

	qGetRun = `SELECT ` + runCols + ` FROM runs WHERE id = $1`

	qListRuns = `SELECT ` + runCols + ` FROM runs
WHERE $1 = '' OR campaign_id = $1
ORDER BY id DESC LIMIT $2`

	qSetRunState = `UPDATE runs SET state = $1, planned = $2, updated_at = $3 WHERE id = $4`
)

// touchedStates are the ledger states of a message that may have gone out.
var touchedStates = store.SQLList(store.MaybeSent)

// ledgerCols is the column list scanLedger reads, in its order.
const ledgerCols = `id, run_id, campaign_id, step_id, contact_id, channel, purpose, state,
	reason, provider_id, error, attempts, segments, not_before, created_at, updated_at`

var (
	qGetLedger = `SELECT ` + ledgerCols + ` FROM ledger WHERE id = $1`

	qGetLedgerByProvider = `SELECT ` + ledgerCols + ` FROM ledger WHERE provider_id = $1 ORDER BY id LIMIT 1`

	// qTransition is completed with the allowed states' in(). An empty
	// change field keeps the stored value, so the whole move is one
	// conditional statement: two workers cannot both claim a row.
	qTransition = `UPDATE ledger SET state = $1,
	reason = CASE WHEN CAST($2 AS TEXT) = '' THEN reason ELSE CAST($2 AS TEXT) END,
	provider_id = COALESCE(CAST($3 AS TEXT), provider_id),
	error = CASE WHEN CAST($4 AS TEXT) = '' THEN error ELSE CAST($4 AS TEXT) END,
	segments = CASE WHEN CAST($5 AS INTEGER) = 0 THEN segments ELSE CAST($5 AS INTEGER) END,
	not_before = COALESCE($6, not_before),
	attempts = attempts + CAST($7 AS INTEGER),
	updated_at = $8
WHERE id = $9 AND state `

	// qListLedger is completed by ListLedger with "AND run_id = $n" and
	// "AND state <in>" as the filter needs (fixed predicates let the
	// planner use the run's index: (run_id, id) on PostgreSQL, where
	// state is left out of every index so that state moves are
	// heap-only updates; (run_id, state) on SQLite), then "ORDER BY id
	// LIMIT $n".
	qListLedger = `SELECT ` + ledgerCols + ` FROM ledger WHERE id > $1`

	qCountLedger = `SELECT state, reason, count(*) FROM ledger WHERE run_id = $1 GROUP BY state, reason`

	qMarketingSentSince = `SELECT count(*) FROM ledger
WHERE contact_id = $1 AND purpose = 'marketing' AND updated_at >= $2
	AND state IN ` + touchedStates
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

	// qContactConsent reads the consent columns an import filled, decoded
	// in Go (store.DecodeConsent), with when they were written.
	qContactConsent = `SELECT consent, updated_at FROM contacts WHERE id = $1`
)
