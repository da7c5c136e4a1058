-- Rollout files shipped to POST /v1/rollouts (steward_store::RolloutStore): how far each file of
-- each machine has been read and the parser's state there, so the next piece continues where
-- the last one ended on whichever replica receives it. acked_offset never moves back.
-- Keep in step with store-sqlite/migrations/0011_rollout_files.sql.
CREATE TABLE rollout_files (
    workspace_id   TEXT COLLATE "C" NOT NULL,
    file_key       TEXT COLLATE "C" NOT NULL,
    machine        TEXT COLLATE "C" NOT NULL,
    path           TEXT COLLATE "C" NOT NULL,
    thread_id      TEXT COLLATE "C" NULL,
    acked_offset   BIGINT NOT NULL,
    state_json     TEXT COLLATE "C" NOT NULL,
    lines          BIGINT NOT NULL DEFAULT 0,
    problems       BIGINT NOT NULL DEFAULT 0,
    unknown        BIGINT NOT NULL DEFAULT 0,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, file_key)
);
CREATE INDEX rollout_files_by_thread ON rollout_files (workspace_id, thread_id);
