package sqlstore

// The SQL of the HTTP API's tables (api keys, idempotency keys, ledger
// payloads), kept apart from queries.go so that it can evolve with the API.

const apiKeyCols = `id, name, hash, scopes, created_at, revoked_at`

const (
	qCreateAPIKey = `INSERT INTO api_keys (` + apiKeyCols + `) VALUES ($1, $2, $3, $4, $5, NULL)
ON CONFLICT (id) DO NOTHING`

	qGetAPIKey = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE id = $1`

	qListAPIKeys = `SELECT ` + apiKeyCols + ` FROM api_keys ORDER BY created_at, id`

	qRevokeAPIKey = `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`
)

const idemCols = `scope, key, request_hash, status, response, claimed_at, created_at`

const (
	qClaimIdem = `INSERT INTO api_idempotency (scope, key, request_hash, status, response, claimed_at, created_at)
VALUES ($1, $2, $3, 0, NULL, $4, $5)
ON CONFLICT (scope, key) DO NOTHING`

	qGetIdem = `SELECT ` + idemCols + ` FROM api_idempotency WHERE scope = $1 AND key = $2`

	// qTakeOverIdem moves a stale unfinished claim to a new owner; the
	// claimed_at condition makes two concurrent takeovers elect one.
	qTakeOverIdem = `UPDATE api_idempotency SET claimed_at = $1
WHERE scope = $2 AND key = $3 AND status = 0 AND request_hash = $4 AND claimed_at = $5`

	qCompleteIdem = `UPDATE api_idempotency SET status = $1, response = $2 WHERE scope = $3 AND key = $4`

	qReleaseIdem = `DELETE FROM api_idempotency WHERE scope = $1 AND key = $2 AND status = 0`
)

var (
	qInsertPayload = `INSERT INTO ledger_payloads (ledger_id, data) VALUES ($1, $2) ON CONFLICT DO NOTHING`

	qGetPayload = `SELECT data FROM ledger_payloads WHERE ledger_id = $1`

	qGetPayloads = `SELECT ledger_id, data FROM ledger_payloads WHERE ledger_id `

	qResolveExternalID = `SELECT id FROM contacts WHERE external_id = $1`

	// qLastTouch is completed with the dialect's newest-first order.
	qLastTouch = `SELECT ` + ledgerCols + ` FROM ledger
WHERE contact_id = $1 AND campaign_id = $2 AND created_at >= $3
	AND state IN ` + touchedStates
)
