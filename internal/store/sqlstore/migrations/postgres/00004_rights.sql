-- +goose Up
-- Erasure (GDPR art. 17) keeps the contact row, its ledger and its events
-- for the accounts, but removes every personal field; erased_at says it
-- happened (NULL: not erased) and makes the policy refuse any send.
ALTER TABLE contacts ADD COLUMN erased_at TIMESTAMPTZ;

-- The retention job looks for recent activity by event type per contact.
CREATE INDEX events_contact_type ON events (contact_id, type, at);

-- +goose Down
DROP INDEX events_contact_type;
ALTER TABLE contacts DROP COLUMN erased_at;
