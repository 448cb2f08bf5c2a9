-- +goose Up
-- Timestamps are UTC text in a fixed-width RFC 3339 form
-- (2006-01-02T15:04:05.000000000Z) so they sort as text and stay readable
-- from the sqlite3 shell.
CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    external_id   TEXT UNIQUE,
    title         TEXT NOT NULL DEFAULT '',
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    company       TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    email_norm    TEXT,
    email_valid   INTEGER NOT NULL DEFAULT 0,
    phone         TEXT,
    phone_raw     TEXT NOT NULL DEFAULT '',
    address_line1 TEXT NOT NULL DEFAULT '',
    address_line2 TEXT NOT NULL DEFAULT '',
    address_line3 TEXT NOT NULL DEFAULT '',
    address_line4 TEXT NOT NULL DEFAULT '',
    postcode      TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL DEFAULT '',
    timezone      TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL DEFAULT '',
    attrs         TEXT NOT NULL DEFAULT '{}',
    consent       TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX contacts_email_norm ON contacts (email_norm);
CREATE INDEX contacts_phone ON contacts (phone);

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    campaign_id  TEXT NOT NULL,
    run_key      TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    dry_run      INTEGER NOT NULL DEFAULT 0,
    planned      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (campaign_id, run_key)
);

-- A rowid table with a unique id rather than WITHOUT ROWID: ids are
-- hashes, and inserting whole rows at random places in the primary b-tree
-- was slower than appending rows and indexing the short id.
CREATE TABLE ledger (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    campaign_id TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    contact_id  INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    purpose     TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    provider_id TEXT,
    error       TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    segments    INTEGER NOT NULL DEFAULT 0,
    not_before  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (run_id, step_id, contact_id, channel)
);
CREATE INDEX ledger_run_state ON ledger (run_id, state);
CREATE INDEX ledger_provider_id ON ledger (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX ledger_contact ON ledger (contact_id, created_at);

-- +goose Down
DROP TABLE ledger;
DROP TABLE runs;
DROP TABLE contacts;
