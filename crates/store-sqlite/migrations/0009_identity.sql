-- Identity and access (issue 5): people provisioned by SCIM, roles and their assignments,
-- API-key expiry and last use, browser sessions, the local break-glass admins and pending
-- OpenID Connect sign-ins. Keep in step with store-postgres/migrations/0009_identity.sql.
--
-- No secret is stored in clear: sessions and sign-in states are keyed by the SHA-256 of the
-- random value the browser holds, passwords are argon2 PHC strings.

-- SCIM's view of a user. `user_name` is SCIM `userName` (unique per workspace, compared
-- case-insensitively, RFC 7643 §4.1.1); `scim_json` keeps the attributes Steward does not
-- model (name parts, phone numbers, enterprise extension) so a GET returns what was PUT.
ALTER TABLE users ADD COLUMN user_name TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN scim_json TEXT;
ALTER TABLE users ADD COLUMN updated_at_ms INTEGER;
-- A user removed by SCIM DELETE keeps its row (events point at it) but is gone for SCIM,
-- sign-in and lookups by name.
ALTER TABLE users ADD COLUMN deleted_at_ms INTEGER;
CREATE UNIQUE INDEX users_by_user_name ON users (workspace_id, lower(user_name))
    WHERE user_name IS NOT NULL AND deleted_at_ms IS NULL;
CREATE INDEX users_by_external_id ON users (workspace_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE user_groups ADD COLUMN scim_json TEXT;
ALTER TABLE user_groups ADD COLUMN updated_at_ms INTEGER;
CREATE INDEX user_groups_by_external_id ON user_groups (workspace_id, external_id)
    WHERE external_id IS NOT NULL;

-- The role a user has when no assignment names them or their groups.
ALTER TABLE workspaces ADD COLUMN default_role TEXT NOT NULL DEFAULT 'member';

-- Custom roles. Built-in roles live in code (steward_model::access) and are never rows, so
-- their meaning cannot drift between databases; their names are reserved.
CREATE TABLE roles (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    permissions    TEXT NOT NULL,   -- space-separated permission names, sorted
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

-- Who holds which role: a user directly, or every member of a group.
CREATE TABLE role_assignments (
    workspace_id   TEXT NOT NULL,
    role_name      TEXT NOT NULL,
    subject_kind   TEXT NOT NULL,   -- 'user' | 'group'
    subject_id     TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, subject_kind, subject_id, role_name)
) WITHOUT ROWID;
CREATE INDEX role_assignments_by_role ON role_assignments (workspace_id, role_name);

-- API keys and tokens: optional expiry, last use (written at most once a minute per key), and
-- who made them.
ALTER TABLE credentials ADD COLUMN expires_at_ms INTEGER;
ALTER TABLE credentials ADD COLUMN last_used_at_ms INTEGER;
ALTER TABLE credentials ADD COLUMN created_by TEXT;
CREATE INDEX credentials_by_user ON credentials (user_id) WHERE user_id IS NOT NULL;

-- Local break-glass administrators (`steward admin create`): every permission in every
-- workspace, for first setup and identity-provider outages.
CREATE TABLE local_admins (
    id                 TEXT PRIMARY KEY,
    username           TEXT NOT NULL UNIQUE,
    password_hash      TEXT NOT NULL,   -- argon2id PHC string
    created_at_ms      INTEGER NOT NULL,
    disabled_at_ms     INTEGER,
    last_sign_in_at_ms INTEGER
);

-- Browser sessions. The cookie holds a random secret; only its SHA-256 is here.
CREATE TABLE sessions (
    id_hash         TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    user_id         TEXT,            -- a person signed in through SSO (or demo mode)
    admin_id        TEXT,            -- or a local admin
    method          TEXT NOT NULL,   -- 'oidc' | 'password' | 'demo'
    created_at_ms   INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    revoked_at_ms   INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id) WHERE user_id IS NOT NULL;

-- OpenID Connect sign-ins between the redirect to the provider and its callback. The browser
-- holds the random state; the PKCE verifier and nonce are derived from it, so nothing here is
-- a secret, and a state is used once (the row is deleted by the callback).
CREATE TABLE oidc_pending (
    state_hash     TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL,
    return_to      TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL
);
