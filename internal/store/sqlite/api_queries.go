package sqlite

// The SQL of the HTTP API's tables (api keys, idempotency keys, ledger
// payloads), kept apart from queries.go so that it can evolve with the API.

const apiKeyCols = `id, name, hash, scopes, created_at, revoked_at`

const (
	qCreateAPIKey = `INSERT INTO api_keys (` + apiKeyCols + `) VALUES (?, ?, ?, ?, ?, NULL)
ON CONFLICT (id) DO NOTHING`

	qGetAPIKey = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE id = ?`

	qListAPIKeys = `SELECT ` + apiKeyCols + ` FROM api_keys ORDER BY created_at, id`

	qRevokeAPIKey = `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`
)

const idemCols = `scope, key, request_hash, status, response, claimed_at, created_at`

const (
	qClaimIdem = `INSERT INTO api_idempotency (scope, key, request_hash, status, response, claimed_at, created_at)
VALUES (?, ?, ?, 0, NULL, ?, ?)
ON CONFLICT (scope, key) DO NOTHING`

	qGetIdem = `SELECT ` + idemCols + ` FROM api_idempotency WHERE scope = ? AND key = ?`

	// qTakeOverIdem moves a stale unfinished claim to a new owner; the
	// claimed_at condition makes two concurrent takeovers elect one.
	qTakeOverIdem = `UPDATE api_idempotency SET claimed_at = ?1
WHERE scope = ?2 AND key = ?3 AND status = 0 AND request_hash = ?4 AND claimed_at = ?5`

	qCompleteIdem = `UPDATE api_idempotency SET status = ?, response = ? WHERE scope = ? AND key = ?`

	qReleaseIdem = `DELETE FROM api_idempotency WHERE scope = ? AND key = ? AND status = 0`
)

const (
	qInsertPayload = `INSERT INTO ledger_payloads (ledger_id, data) VALUES (?, ?) ON CONFLICT DO NOTHING`

	qGetPayload = `SELECT data FROM ledger_payloads WHERE ledger_id = ?`

	qResolveExternalID = `SELECT id FROM contacts WHERE external_id = ?`

	qLastTouch = `SELECT ` + ledgerCols + ` FROM ledger
WHERE contact_id = ? AND campaign_id = ? AND created_at >= ?
	AND state IN ('submitting', 'accepted', 'delivered', 'bounced', 'ambiguous')
ORDER BY created_at DESC, seq DESC LIMIT 1`
)
