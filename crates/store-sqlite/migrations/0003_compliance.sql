-- The compliance log. Records wait in compliance_pending (queued in the same transaction as the
-- event they come from) until a sealing writes them into a file, records the file in
-- compliance_files, moves the workspace's digest-chain head and deletes them, all in one
-- transaction.
CREATE TABLE compliance_pending (
    id            INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    log_type      TEXT NOT NULL,
    ts_ms         INTEGER NOT NULL,
    event_id      INTEGER,          -- events.id of a Codex event, or
    record        TEXT,             -- a complete record (administrative actions)
    trace_id      TEXT              -- joins the event to its turn span
);
CREATE INDEX compliance_pending_by_workspace ON compliance_pending (workspace_id, id);

CREATE TABLE compliance_files (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL,
    log_type              TEXT NOT NULL,
    end_time              INTEGER NOT NULL,
    path                  TEXT NOT NULL,
    file_name             TEXT NOT NULL,
    sha256                TEXT NOT NULL,
    records_root          TEXT NOT NULL,
    size                  INTEGER NOT NULL,
    record_count          INTEGER NOT NULL,
    first_ts              TEXT,
    last_ts               TEXT,
    digest_sequence       INTEGER NOT NULL,
    sealed_at_ms          INTEGER NOT NULL,
    content_erased_at_ms  INTEGER
);
CREATE INDEX compliance_files_listing ON compliance_files (workspace_id, log_type, end_time, id);

CREATE TABLE compliance_chain (
    workspace_id   TEXT PRIMARY KEY,
    sequence       INTEGER NOT NULL,
    digest_sha256  TEXT NOT NULL,
    last_end_time  INTEGER NOT NULL
);

-- session_task.turn spans: trace id -> turn id (Codex logs carry no turn id).
CREATE TABLE turn_spans (
    workspace_id  TEXT NOT NULL,
    trace_id      TEXT NOT NULL,
    turn_id       TEXT NOT NULL,
    thread_id     TEXT,
    PRIMARY KEY (workspace_id, trace_id)
) WITHOUT ROWID;
