-- +goose Up
-- A channel paused after its provider refused the account or the sender
-- (wrong credentials, a From the account may not use): no worker submits
-- on it until an operator resumes it or a probe of the account succeeds.
-- Its rows stay planned. setting names what to fix; error is the
-- provider's answer, without personal data.
CREATE TABLE channel_pauses (
    channel   TEXT PRIMARY KEY,
    setting   TEXT NOT NULL DEFAULT '',
    error     TEXT NOT NULL DEFAULT '',
    paused_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE channel_pauses;
