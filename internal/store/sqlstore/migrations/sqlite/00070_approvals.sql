-- +goose Up
-- Proofs (reviewer copies of a campaign's messages, never counted as
-- sends) and the approvals of a campaign version given after them.
CREATE TABLE proofs (
    id          TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    version     TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    contact_id  INTEGER NOT NULL DEFAULT 0,
    recipient   TEXT NOT NULL DEFAULT '',
    sent_to     TEXT NOT NULL,
    provider_id TEXT NOT NULL DEFAULT '',
    sent_at     TEXT NOT NULL
);
CREATE INDEX proofs_campaign ON proofs (campaign_id, version);
CREATE TABLE approvals (
    campaign_id TEXT NOT NULL,
    version     TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, version, approved_by)
);

-- +goose Down
DROP TABLE approvals;
DROP TABLE proofs;
