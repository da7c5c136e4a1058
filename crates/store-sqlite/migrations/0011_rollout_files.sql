-- Rollout files shipped to POST /v1/rollouts (steward_store::RolloutStore): how far each file of
-- each machine has been read and the parser's state there, so the next piece continues where
-- the last one ended on whichever replica receives it. acked_offset never moves back.
-- Keep in step with store-postgres/migrations/0011_rollout_files.sql.
CREATE TABLE rollout_files (
    workspace_id   TEXT NOT NULL,
    file_key       TEXT NOT NULL,
    machine        TEXT NOT NULL,
    path           TEXT NOT NULL,
    thread_id      TEXT NULL,
    acked_offset   INTEGER NOT NULL,
    state_json     TEXT NOT NULL,
    lines          INTEGER NOT NULL DEFAULT 0,
    problems       INTEGER NOT NULL DEFAULT 0,
    unknown        INTEGER NOT NULL DEFAULT 0,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, file_key)
) WITHOUT ROWID;
CREATE INDEX rollout_files_by_thread ON rollout_files (workspace_id, thread_id);
