-- Steward schema v1 (SQLite). Times are Unix milliseconds (`*_ms`) or, for rollup buckets,
-- Unix seconds of a UTC day/week start. Keep in step with store-postgres/migrations/0001_init.sql.

CREATE TABLE workspaces (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    is_default        INTEGER NOT NULL DEFAULT 0,
    analytics_emails  INTEGER NOT NULL DEFAULT 1,
    created_at_ms     INTEGER NOT NULL
);
-- At most one default workspace, even when several processes start at once.
CREATE UNIQUE INDEX workspaces_single_default ON workspaces (is_default) WHERE is_default = 1;

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id),
    email          TEXT,
    name           TEXT,
    account_id     TEXT,
    kind           TEXT NOT NULL,
    principal_key  TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    UNIQUE (workspace_id, principal_key)
);
CREATE INDEX users_by_email ON users (workspace_id, email);

CREATE TABLE credentials (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id),
    scopes         TEXT NOT NULL DEFAULT '',
    prefix         TEXT NOT NULL,
    secret_hash    TEXT NOT NULL UNIQUE,
    created_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER
);
CREATE INDEX credentials_by_workspace ON credentials (workspace_id);

-- Dedup keys of stored events: 16 bytes of SHA-256(workspace_id, dedup_key). Kept apart from
-- `events` so the index that every insert updates at a random position stays small.
-- Keyed time first: new keys land at the end of the index instead of at random positions
-- (a duplicate has the same time, since the hash covers the whole record).
CREATE TABLE event_keys (
    ts_ms  INTEGER NOT NULL,
    key    BLOB NOT NULL,
    PRIMARY KEY (ts_ms, key)
) WITHOUT ROWID;

-- Every ingested record, raw, exactly once (guarded by event_keys). Append-only.
CREATE TABLE events (
    id                       INTEGER PRIMARY KEY,
    workspace_id             TEXT NOT NULL,
    dedup_key                TEXT NOT NULL,
    user_id                  TEXT NOT NULL,
    source                   TEXT NOT NULL,
    event_name               TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    thread_id                TEXT,
    ts_ms                    INTEGER NOT NULL,
    client_id                TEXT NOT NULL,
    model                    TEXT,
    input_tokens             INTEGER,
    cached_input_tokens      INTEGER,
    output_tokens            INTEGER,
    reasoning_output_tokens  INTEGER,
    total_tokens             INTEGER,
    credits_micro            INTEGER NOT NULL DEFAULT 0,
    usd_micro                INTEGER NOT NULL DEFAULT 0,
    rate_card_version        TEXT NOT NULL DEFAULT '',
    received_at_ms           INTEGER NOT NULL,
    raw                      TEXT NOT NULL
);

-- Daily usage rollup, updated in the same transaction as the events it sums. Rows with
-- user_id = '' are the workspace totals (maintained alongside, so workspace queries read few rows).
CREATE TABLE usage_daily (
    workspace_id             TEXT NOT NULL,
    day                      INTEGER NOT NULL,
    week                     INTEGER NOT NULL,
    user_id                  TEXT NOT NULL,
    client_id                TEXT NOT NULL,
    model                    TEXT NOT NULL,
    rate_card_version        TEXT NOT NULL,
    turns                    INTEGER NOT NULL DEFAULT 0,
    input_tokens             INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens            INTEGER NOT NULL DEFAULT 0,
    reasoning_output_tokens  INTEGER NOT NULL DEFAULT 0,
    credits_micro            INTEGER NOT NULL DEFAULT 0,
    usd_micro                INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, day, user_id, client_id, model, rate_card_version)
);
CREATE INDEX usage_daily_by_week ON usage_daily (workspace_id, week, user_id);
-- Workspace rows (user_id = '') and, later, one person's history: a seek, not a scan.
CREATE INDEX usage_daily_by_user ON usage_daily (workspace_id, user_id, day);

-- Distinct threads per bucket (grain 'd' = UTC day, 'w' = ISO week), per user or all users
-- (user_id = ''), per client or all clients (client_id = ''). A thread_seen row is inserted the
-- first time a thread is active in a counter's bucket, and only then is the counter
-- incremented: distinct counts without a scan at query time.
CREATE TABLE thread_seen (
    workspace_id  TEXT NOT NULL,
    grain         TEXT NOT NULL,
    bucket        INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    thread_id     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, grain, bucket, user_id, client_id, thread_id)
) WITHOUT ROWID;

CREATE TABLE thread_counts (
    workspace_id  TEXT NOT NULL,
    grain         TEXT NOT NULL,
    bucket        INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    threads       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, grain, bucket, user_id, client_id)
) WITHOUT ROWID;
