package sqlstore

// The SQL of the data-protection rights (store.RightsStore), kept apart
// from queries.go so its reviewers see the erasure in one place.

const (
	qFindContacts = `SELECT ` + contactCols + ` FROM contacts
WHERE erased_at IS NULL AND (external_id = $1 OR ($2 <> '' AND email_norm = $2) OR ($3 <> '' AND phone = $3))
ORDER BY id`

	qListConsents = `SELECT contact_id, channel, purpose, granted, source, text, at FROM consents
WHERE contact_id = $1 ORDER BY channel, purpose`

	// qImportConsent writes an imported consent unless it would undo a
	// refusal or rewrite a grant's proof (store.RightsStore.ImportConsents).
	qImportConsent = `INSERT INTO consents (contact_id, channel, purpose, granted, source, text, at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET
	granted = excluded.granted, source = excluded.source, text = excluded.text, at = excluded.at
WHERE consents.granted AND NOT excluded.granted`

	qContactLedger = `SELECT ` + ledgerCols + ` FROM ledger WHERE contact_id = $1 ORDER BY created_at, id`

	qContactEvents = `SELECT ` + eventCols + ` FROM events WHERE contact_id = $1 ORDER BY id`

	// qContactForErase is completed with the dialect's row lock, so an
	// import cannot refill the contact while it is being erased.
	qContactForErase = `SELECT ` + contactCols + ` FROM contacts WHERE id = $1`

	// qEraseContact blanks every personal field; kind stays (it is not
	// personal data and keeps reports by kind meaningful).
	qEraseContact = `UPDATE contacts SET external_id = NULL, title = '', first_name = '', last_name = '',
	company = '', email = '', email_norm = NULL, email_valid = FALSE, phone = NULL, phone_raw = '',
	address_line1 = '', address_line2 = '', address_line3 = '', address_line4 = '',
	postcode = '', city = '', country = '', locale = '', timezone = '',
	attrs = '{}', consent = NULL, erased_at = $1, updated_at = $1
WHERE id = $2 AND erased_at IS NULL`

	// qErasePayloads removes the data of API-triggered sends to the
	// contact (an order's lines, a name): it exists only to render them.
	qErasePayloads = `DELETE FROM ledger_payloads WHERE ledger_id IN (SELECT id FROM ledger WHERE contact_id = $1)`

	// qInactiveContacts is the retention job's selection (see
	// store.RightsStore.InactiveContacts); $1 is since, $2 afterID, $3
	// the limit. The activity types are store.ActivityTypes.
	qInactiveContacts = `SELECT ` + contactCols + ` FROM contacts c
WHERE c.id > $2 AND c.erased_at IS NULL AND c.created_at < $1
	AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id
		AND e.type IN ('clicked', 'replied', 'responded', 'converted') AND e.machine = FALSE AND e.at >= $1)
	AND NOT EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = c.id AND k.granted AND k.at >= $1)
ORDER BY c.id LIMIT $3`
)
