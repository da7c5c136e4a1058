-- Managed policies: user groups, policies with immutable revisions, the ordered group → policy
-- assignment per workspace, and what machines report they enforce.
CREATE TABLE user_groups (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL,
    name           TEXT NOT NULL,
    source         TEXT NOT NULL,   -- 'manual' | 'scim'
    external_id    TEXT,
    created_at_ms  INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE group_members (
    workspace_id  TEXT NOT NULL,
    group_id      TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, group_id, user_id)
) WITHOUT ROWID;
-- "Which groups is this user in?": the policy lookup.
CREATE INDEX group_members_by_user ON group_members (workspace_id, user_id, group_id);

CREATE TABLE policies (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    latest_revision  INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    deleted_at_ms    INTEGER
);
-- Names are unique among live policies; a deleted policy's name can be reused.
CREATE UNIQUE INDEX policies_live_name ON policies (workspace_id, name) WHERE deleted_at_ms IS NULL;

CREATE TABLE policy_revisions (
    policy_id          TEXT NOT NULL REFERENCES policies (id),
    revision           INTEGER NOT NULL,
    requirements_toml  TEXT NOT NULL,
    managed_config_toml TEXT NOT NULL,
    sha256             TEXT NOT NULL,
    comment            TEXT NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    created_by         TEXT NOT NULL,
    PRIMARY KEY (policy_id, revision)
);

CREATE TABLE policy_assignments (
    workspace_id       TEXT PRIMARY KEY,
    version            INTEGER NOT NULL,
    default_policy_id  TEXT REFERENCES policies (id),
    updated_at_ms      INTEGER NOT NULL,
    updated_by         TEXT NOT NULL
);

CREATE TABLE policy_assignment_rules (
    workspace_id  TEXT NOT NULL,
    position      INTEGER NOT NULL,
    group_id      TEXT NOT NULL REFERENCES user_groups (id),
    policy_id     TEXT NOT NULL REFERENCES policies (id),
    PRIMARY KEY (workspace_id, position)
);

CREATE TABLE policy_sync_reports (
    workspace_id    TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    host            TEXT NOT NULL,
    channel         TEXT NOT NULL,   -- 'agent' | 'bundle'
    policy_id       TEXT,
    revision        INTEGER,
    sha256          TEXT,
    client_version  TEXT,
    reported_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id, host, channel)
);
