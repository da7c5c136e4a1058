-- Managed policies: user groups, policies with immutable revisions, the ordered group → policy
-- assignment per workspace, and what machines report they enforce.
-- Keep in step with store-sqlite/migrations/0007_policies.sql.
CREATE TABLE user_groups (
    id             TEXT COLLATE "C" PRIMARY KEY,
    workspace_id   TEXT COLLATE "C" NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    source         TEXT COLLATE "C" NOT NULL,   -- 'manual' | 'scim'
    external_id    TEXT COLLATE "C",
    created_at_ms  BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE group_members (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    group_id      TEXT COLLATE "C" NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, group_id, user_id)
);
-- "Which groups is this user in?": the policy lookup.
CREATE INDEX group_members_by_user ON group_members (workspace_id, user_id, group_id);

CREATE TABLE policies (
    id               TEXT COLLATE "C" PRIMARY KEY,
    workspace_id     TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    description      TEXT COLLATE "C" NOT NULL,
    latest_revision  BIGINT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL,
    deleted_at_ms    BIGINT
);
-- Names are unique among live policies; a deleted policy's name can be reused.
CREATE UNIQUE INDEX policies_live_name ON policies (workspace_id, name) WHERE deleted_at_ms IS NULL;

CREATE TABLE policy_revisions (
    policy_id          TEXT COLLATE "C" NOT NULL REFERENCES policies (id),
    revision           BIGINT NOT NULL,
    requirements_toml  TEXT COLLATE "C" NOT NULL,
    managed_config_toml TEXT COLLATE "C" NOT NULL,
    sha256             TEXT COLLATE "C" NOT NULL,
    comment            TEXT COLLATE "C" NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    created_by         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (policy_id, revision)
);

CREATE TABLE policy_assignments (
    workspace_id       TEXT COLLATE "C" PRIMARY KEY,
    version            BIGINT NOT NULL,
    default_policy_id  TEXT COLLATE "C" REFERENCES policies (id),
    updated_at_ms      BIGINT NOT NULL,
    updated_by         TEXT COLLATE "C" NOT NULL
);

CREATE TABLE policy_assignment_rules (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    position      BIGINT NOT NULL,
    group_id      TEXT COLLATE "C" NOT NULL REFERENCES user_groups (id),
    policy_id     TEXT COLLATE "C" NOT NULL REFERENCES policies (id),
    PRIMARY KEY (workspace_id, position)
);

CREATE TABLE policy_sync_reports (
    workspace_id    TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    host            TEXT COLLATE "C" NOT NULL,
    channel         TEXT COLLATE "C" NOT NULL,   -- 'agent' | 'bundle'
    policy_id       TEXT COLLATE "C",
    revision        BIGINT,
    sha256          TEXT COLLATE "C",
    client_version  TEXT COLLATE "C",
    reported_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, host, channel)
);
