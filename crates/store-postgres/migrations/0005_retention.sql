-- Compliance retention: files can expire (deleted by retention, recorded in a signed digest),
-- what each sealed file holds records of (threads, users) for legal holds and deletion
-- requests, and the legal holds themselves.
ALTER TABLE compliance_files ADD COLUMN expired_at_ms BIGINT;

CREATE TABLE compliance_file_subjects (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,   -- 'thread' | 'user'
    value         TEXT COLLATE "C" NOT NULL,
    file_id       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, kind, value, file_id)
);
CREATE INDEX compliance_file_subjects_by_file ON compliance_file_subjects (workspace_id, file_id);

CREATE TABLE legal_holds (
    id             TEXT COLLATE "C" PRIMARY KEY,
    workspace_id   TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C",            -- NULL: the whole workspace
    reason         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    created_by     TEXT NOT NULL
);
