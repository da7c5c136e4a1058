-- The compliance log. Records wait in compliance_pending (queued in the same transaction as the
-- event they come from) until a sealing writes them into a file, records the file in
-- compliance_files, moves the workspace's digest-chain head and deletes them, all in one
-- transaction.
CREATE TABLE compliance_pending (
    id            BIGSERIAL PRIMARY KEY,
    workspace_id  TEXT COLLATE "C" NOT NULL,
    log_type      TEXT COLLATE "C" NOT NULL,
    ts_ms         BIGINT NOT NULL,
    event_id      BIGINT,          -- events.id of a Codex event, or
    record        TEXT COLLATE "C",             -- a complete record (administrative actions)
    trace_id      TEXT COLLATE "C"              -- joins the event to its turn span
);
CREATE INDEX compliance_pending_by_workspace ON compliance_pending (workspace_id, id);

CREATE TABLE compliance_files (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    workspace_id          TEXT COLLATE "C" NOT NULL,
    log_type              TEXT COLLATE "C" NOT NULL,
    end_time              BIGINT NOT NULL,
    path                  TEXT COLLATE "C" NOT NULL,
    file_name             TEXT COLLATE "C" NOT NULL,
    sha256                TEXT COLLATE "C" NOT NULL,
    records_root          TEXT COLLATE "C" NOT NULL,
    size                  BIGINT NOT NULL,
    record_count          BIGINT NOT NULL,
    first_ts              TEXT COLLATE "C",
    last_ts               TEXT COLLATE "C",
    digest_sequence       BIGINT NOT NULL,
    sealed_at_ms          BIGINT NOT NULL,
    content_erased_at_ms  BIGINT
);
CREATE INDEX compliance_files_listing ON compliance_files (workspace_id, log_type, end_time, id);

CREATE TABLE compliance_chain (
    workspace_id   TEXT COLLATE "C" PRIMARY KEY,
    sequence       BIGINT NOT NULL,
    digest_sha256  TEXT COLLATE "C" NOT NULL,
    last_end_time  BIGINT NOT NULL
);

-- session_task.turn spans: trace id -> turn id (Codex logs carry no turn id).
CREATE TABLE turn_spans (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    trace_id      TEXT COLLATE "C" NOT NULL,
    turn_id       TEXT COLLATE "C" NOT NULL,
    thread_id     TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, trace_id)
);
