-- +goose Up
-- A ledger row moves through several states while its message is sent
-- (claimed, submitting, accepted ...). With `state` in an index, every
-- move wrote a new entry in each of the ledger's indexes; without it, a
-- move that changes no indexed column is a heap-only (HOT) update: the
-- new row version goes on the same page and no index is touched. The
-- fill factor keeps room on each page for those versions. The run's
-- rows stay reachable in id order through (run_id, id); a filter on
-- state reads them there. The new index is built before the old one is
-- dropped: the build blocks writes to the ledger, not reads, and the
-- drop's exclusive lock lasts an instant.
CREATE INDEX ledger_run ON ledger (run_id, id);
DROP INDEX ledger_run_state;
ALTER TABLE ledger SET (fillfactor = 60);

-- +goose Down
CREATE INDEX ledger_run_state ON ledger (run_id, state, id);
DROP INDEX ledger_run;
ALTER TABLE ledger RESET (fillfactor);
