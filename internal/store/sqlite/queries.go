package sqlite

// The SQL of this backend, named and in one place (DESIGN convention 12).
// Statements with a variable number of placeholders are completed by the
// functions that use them.

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
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	qUpdateContact = `UPDATE contacts SET external_id = ?, title = ?, first_name = ?, last_name = ?,
	company = ?, email = ?, email_norm = ?, email_valid = ?, phone = ?, phone_raw = ?,
	address_line1 = ?, address_line2 = ?, address_line3 = ?, address_line4 = ?,
	postcode = ?, city = ?, country = ?, locale = ?, timezone = ?, kind = ?,
	attrs = ?, consent = ?, updated_at = ?
WHERE id = ?`

	qContactByExternalID = `SELECT ` + contactCols + ` FROM contacts WHERE external_id = ?`

	// An email or phone match is not one when both sides have different
	// external ids (?2 is the input's external id, '' when it has none).
	qContactByEmail = `SELECT ` + contactCols + ` FROM contacts
WHERE email_norm = ?1 AND (?2 = '' OR external_id IS NULL OR external_id = ?2)
ORDER BY id LIMIT 1`

	qContactByPhone = `SELECT ` + contactCols + ` FROM contacts
WHERE phone = ?1 AND (?2 = '' OR external_id IS NULL OR external_id = ?2)
ORDER BY id LIMIT 1`

	// qContactKeys is completed with "(?, …) OR email_norm IN (?, …) OR
	// phone IN (?, …)": it finds which of a batch's keys exist at all, so
	// the (usual) brand-new contacts skip the per-contact lookups.
	qContactKeys = `SELECT external_id, email_norm, phone FROM contacts WHERE external_id IN `

	qGetContact = `SELECT ` + contactCols + ` FROM contacts WHERE id = ?`

	// qGetContactsByID is completed with "(?, ?, …)".
	qGetContactsByID = `SELECT ` + contactCols + ` FROM contacts WHERE id IN `

	qScanContacts = `SELECT ` + contactCols + ` FROM contacts WHERE id > ? ORDER BY id LIMIT ?`
)

// runCols is the column list scanRun reads, in its order.
const runCols = `id, campaign_id, run_key, content_hash, state, dry_run, planned, created_at, updated_at`

const (
	qCreateRun = `INSERT INTO runs (campaign_id, run_key, content_hash, state, dry_run, planned, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, run_key) DO NOTHING
RETURNING ` + runCols

	qFindRun = `SELECT ` + runCols + ` FROM runs WHERE campaign_id = ? AND run_key = ?`

	qGetRun = `SELECT ` + runCols + ` FROM runs WHERE id = ?`

	qListRuns = `SELECT ` + runCols + ` FROM runs
WHERE ?1 = '' OR campaign_id = ?1
ORDER BY id DESC LIMIT ?2`

	qSetRunState = `UPDATE runs SET state = ?, planned = ?, updated_at = ? WHERE id = ?`
)

// ledgerCols is the column list scanLedger reads, in its order.
const ledgerCols = `id, run_id, campaign_id, step_id, contact_id, channel, purpose, state,
	reason, provider_id, error, attempts, segments, not_before, created_at, updated_at`

// ledgerParams is the number of placeholders per row in qInsertLedger.
const ledgerParams = 16

const (
	// qInsertLedger is completed with "(?, …), (?, …)" rows and
	// qInsertLedgerEnd.
	qInsertLedger    = `INSERT INTO ledger (` + ledgerCols + `) VALUES `
	qInsertLedgerEnd = ` ON CONFLICT DO NOTHING`

	qGetLedger = `SELECT ` + ledgerCols + ` FROM ledger WHERE id = ?`

	qGetLedgerByProvider = `SELECT ` + ledgerCols + ` FROM ledger WHERE provider_id = ? ORDER BY id LIMIT 1`

	// qTransition is completed with "(?, …)" for the allowed states. An
	// empty change field keeps the stored value, so the whole move is one
	// conditional statement: two workers cannot both claim a row.
	qTransition = `UPDATE ledger SET state = ?1,
	reason = CASE WHEN ?2 = '' THEN reason ELSE ?2 END,
	provider_id = COALESCE(?3, provider_id),
	error = CASE WHEN ?4 = '' THEN error ELSE ?4 END,
	segments = CASE WHEN ?5 = 0 THEN segments ELSE ?5 END,
	not_before = COALESCE(?6, not_before),
	attempts = attempts + ?7,
	updated_at = ?8
WHERE id = ?9 AND state IN `

	// qListLedger is completed with an optional state filter and
	// qListLedgerEnd.
	qListLedger    = `SELECT ` + ledgerCols + ` FROM ledger WHERE (? = 0 OR run_id = ?) AND id > ?`
	qListLedgerEnd = ` ORDER BY id LIMIT ?`

	qCountLedger = `SELECT state, reason, count(*) FROM ledger WHERE run_id = ? GROUP BY state, reason`

	qMarketingSentSince = `SELECT count(*) FROM ledger
WHERE contact_id = ? AND purpose = 'marketing' AND updated_at >= ?
	AND state IN ('submitting', 'accepted', 'delivered', 'bounced', 'ambiguous')`
)

// suppressionRank orders reasons by how much they block, strongest first,
// so Suppressed reports the one that decides.
const suppressionRank = `CASE reason WHEN 'erased' THEN 0 WHEN 'manual' THEN 1
	WHEN 'hard_bounce' THEN 2 WHEN 'opted_out' THEN 3 ELSE 4 END`

const (
	qSuppress   = `INSERT INTO suppressions (key, reason, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	qSuppressed = `SELECT reason FROM suppressions WHERE key = ? ORDER BY ` + suppressionRank + ` LIMIT 1`

	qSetConsent = `INSERT INTO consents (contact_id, channel, purpose, granted, source, text, at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET
	granted = excluded.granted, source = excluded.source, text = excluded.text, at = excluded.at`

	qConsent = `SELECT granted, source, text, at FROM consents
WHERE contact_id = ? AND channel = ? AND purpose = ?`

	// qImportedConsent reads the consent column an import filled, for
	// marketing; NULL when the channel is unknown.
	qImportedConsent = `SELECT json_extract(consent, '$.' || ?), updated_at FROM contacts WHERE id = ?`
)
