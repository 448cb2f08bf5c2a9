-- +goose Up
-- A ledger row moves through several states while its message is sent
-- (claimed, submitting, accepted ...). With `state` in an index, every
-- move wrote a new entry in each of the ledger's indexes; without it, a
-- move that changes no indexed column is a heap-only (HOT) update: the
-- new row version goes on the same page and no index is touched. The
-- fill factor keeps room on each page for those versions. The run's
-- rows stay reachable in id order through (run_id, id); a filter on
-- state reads them there.
DROP INDEX ledger_run_state;
CREATE INDEX ledger_run ON ledger (run_id, id);
ALTER TABLE ledger SET (fillfactor = 60);

-- +goose Down
ALTER TABLE ledger RESET (fillfactor);
DROP INDEX ledger_run;
CREATE INDEX ledger_run_state ON ledger (run_id, state, id);
