-- +goose Up
-- Dashboard sessions, kept on the server so that they can be listed and
-- ended (and end with their API key). The id is the SHA-256 of the
-- browser's cookie value, which is never stored.
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    key_id          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    idle_expires_at TIMESTAMPTZ NOT NULL,
    user_agent      TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_key_id ON sessions (key_id);

-- +goose Down
DROP TABLE sessions;
