-- +goose Up
-- What happened to each message: provider statuses, opens, clicks,
-- unsubscribes, replies, responses and conversions. detail may hold
-- personal data (an SMS reply) and is cleared on erasure.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    ledger_id   TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    campaign_id TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    contact_id  INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    type        TEXT NOT NULL,
    machine     INTEGER NOT NULL DEFAULT 0,
    url         TEXT NOT NULL DEFAULT '',
    value       REAL NOT NULL DEFAULT 0,
    currency    TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    dedupe_key  TEXT UNIQUE,
    at          TEXT NOT NULL
);
CREATE INDEX events_ledger ON events (ledger_id, type);
CREATE INDEX events_campaign ON events (campaign_id, type);
CREATE INDEX events_contact ON events (contact_id, at);

-- +goose Down
DROP TABLE events;
