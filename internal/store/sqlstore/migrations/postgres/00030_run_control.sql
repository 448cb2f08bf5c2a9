-- +goose Up
-- Operator control of runs: a paused run keeps its rows but no worker
-- claims or submits them until it is resumed; a canceled run's unsent rows
-- end as canceled, with the operator's reason. A paused campaign fires no
-- scheduled occurrence until resumed.
ALTER TABLE runs ADD COLUMN paused_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN canceled_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
-- A run started with --resend sends again to people an earlier version
-- reached; the operator's reason is kept with it.
ALTER TABLE runs ADD COLUMN resend_reason TEXT NOT NULL DEFAULT '';
CREATE TABLE campaign_pauses (
    campaign_id TEXT PRIMARY KEY,
    paused_at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE campaign_pauses;
ALTER TABLE runs DROP COLUMN resend_reason;
ALTER TABLE runs DROP COLUMN cancel_reason;
ALTER TABLE runs DROP COLUMN canceled_at;
ALTER TABLE runs DROP COLUMN paused_at;
