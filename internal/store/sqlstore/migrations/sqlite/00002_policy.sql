-- +goose Up
-- Suppression list keyed by policy.SuppressionKey (an HMAC of the
-- normalized address), so an erased person stays suppressed without the
-- address being kept. A key may carry several reasons.
CREATE TABLE suppressions (
    key        TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (key, reason)
) WITHOUT ROWID;

-- Consent given or withdrawn with its proof (API, unsubscribe, STOP);
-- it overrides the consent columns of an import.
CREATE TABLE consents (
    contact_id INTEGER NOT NULL,
    channel    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    granted    INTEGER NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    PRIMARY KEY (contact_id, channel, purpose)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE consents;
DROP TABLE suppressions;
