-- +goose Up
-- What happened to each message: provider statuses, opens, clicks,
-- unsubscribes, replies, responses and conversions. detail may hold
-- personal data (an SMS reply) and is cleared on erasure.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    ledger_id   TEXT NOT NULL,
    run_id      BIGINT NOT NULL,
    campaign_id TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    contact_id  BIGINT NOT NULL,
    channel     TEXT NOT NULL,
    type        TEXT NOT NULL,
    machine     BOOLEAN NOT NULL DEFAULT FALSE,
    url         TEXT NOT NULL DEFAULT '',
    value       NUMERIC(14,4) NOT NULL DEFAULT 0,
    currency    TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    dedupe_key  TEXT UNIQUE,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_ledger ON events (ledger_id, type);
CREATE INDEX events_campaign ON events (campaign_id, type);
CREATE INDEX events_contact ON events (contact_id, at);

-- +goose Down
DROP TABLE events;
