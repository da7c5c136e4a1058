-- Compliance retention: files can expire (deleted by retention, recorded in a signed digest),
-- what each sealed file holds records of (threads, users) for legal holds and deletion
-- requests, and the legal holds themselves.
ALTER TABLE compliance_files ADD COLUMN expired_at_ms INTEGER;

CREATE TABLE compliance_file_subjects (
    workspace_id  TEXT NOT NULL,
    kind          TEXT NOT NULL,   -- 'thread' | 'user'
    value         TEXT NOT NULL,
    file_id       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, kind, value, file_id)
) WITHOUT ROWID;
CREATE INDEX compliance_file_subjects_by_file ON compliance_file_subjects (workspace_id, file_id);

CREATE TABLE legal_holds (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL,
    user_id        TEXT,            -- NULL: the whole workspace
    reason         TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    created_by     TEXT NOT NULL
);

-- The pending queue is read per workspace in id order; with the handful of workspaces a
-- deployment has, a rowid scan does that as well, and ingest saves an index insert per
-- compliance record (the ingest hot path).
DROP INDEX compliance_pending_by_workspace;
