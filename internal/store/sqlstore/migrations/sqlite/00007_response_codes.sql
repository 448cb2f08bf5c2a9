-- +goose Up
-- Reply-coupon and personal-URL codes, with the message they were printed
-- on (the code itself carries no personal data).
CREATE TABLE response_codes (
    code      TEXT PRIMARY KEY,
    ledger_id TEXT NOT NULL
);

-- +goose Down
DROP TABLE response_codes;
