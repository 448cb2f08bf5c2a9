-- +goose Up
-- HTTP API credentials: only a SHA-256 of each key is kept.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BYTEA NOT NULL,
    scopes     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- One row per Idempotency-Key, inserted before anything else is written
-- so that concurrent requests with the same key do the work once; the
-- first response is kept and replayed.
CREATE TABLE api_idempotency (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    response     BYTEA,
    claimed_at   TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Per-message data of transactional API sends (the template's .Data),
-- written in the same transaction as the ledger row.
CREATE TABLE ledger_payloads (
    ledger_id TEXT PRIMARY KEY,
    data      JSONB NOT NULL
);

-- +goose Down
DROP TABLE ledger_payloads;
DROP TABLE api_idempotency;
DROP TABLE api_keys;
