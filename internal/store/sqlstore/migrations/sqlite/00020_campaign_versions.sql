-- +goose Up
-- File contents by SHA-256, shared by every campaign version using them.
CREATE TABLE blobs (
    sha256  TEXT PRIMARY KEY,
    content BLOB NOT NULL
);

-- A campaign version as runs started it: what a worker without the
-- campaigns folder loads. runs.content_hash names it.
CREATE TABLE campaign_versions (
    hash          TEXT PRIMARY KEY,
    campaign_id   TEXT NOT NULL,
    path          TEXT NOT NULL,
    files         TEXT NOT NULL,
    audience_hash TEXT NOT NULL DEFAULT '',
    git_commit    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);

-- +goose Down
DROP TABLE campaign_versions;
DROP TABLE blobs;
