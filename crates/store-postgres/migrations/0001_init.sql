-- Steward schema v1 (PostgreSQL). Times are Unix milliseconds (`*_ms`) or, for rollup buckets,
-- Unix seconds of a UTC day/week start. Keep in step with store-sqlite/migrations/0001_init.sql:
-- same tables, columns, keys and indexes; INTEGER becomes BIGINT.
--
-- Every TEXT column is COLLATE "C" (byte order), which is what SQLite's BINARY collation does
-- and what Rust's String ordering does. Usage pages are ordered and keyset-paginated by user id
-- in SQL and reassembled in Rust; under a linguistic database collation (en_US, ICU) the two
-- orders differ and pages would skip or repeat rows. It also keeps lower(email) ASCII-only,
-- as in SQLite.

CREATE TABLE workspaces (
    id                TEXT COLLATE "C" PRIMARY KEY,
    name              TEXT COLLATE "C" NOT NULL,
    is_default        BIGINT NOT NULL DEFAULT 0,
    analytics_emails  BIGINT NOT NULL DEFAULT 1,
    created_at_ms     BIGINT NOT NULL
);
-- At most one default workspace, even when several processes start at once.
CREATE UNIQUE INDEX workspaces_single_default ON workspaces (is_default) WHERE is_default = 1;

CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    email          TEXT COLLATE "C",
    name           TEXT COLLATE "C",
    account_id     TEXT COLLATE "C",
    kind           TEXT COLLATE "C" NOT NULL,
    principal_key  TEXT COLLATE "C" NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    UNIQUE (workspace_id, principal_key)
);
CREATE INDEX users_by_email ON users (workspace_id, email);

CREATE TABLE credentials (
    id             TEXT COLLATE "C" PRIMARY KEY,
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    name           TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C" REFERENCES users (id),
    scopes         TEXT COLLATE "C" NOT NULL DEFAULT '',
    prefix         TEXT COLLATE "C" NOT NULL,
    secret_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at_ms  BIGINT NOT NULL,
    revoked_at_ms  BIGINT
);
CREATE INDEX credentials_by_workspace ON credentials (workspace_id);

-- Every ingested record, raw, exactly once per (workspace_id, dedup_key).
CREATE TABLE events (
    id                       BIGSERIAL PRIMARY KEY,
    workspace_id             TEXT COLLATE "C" NOT NULL,
    dedup_key                TEXT COLLATE "C" NOT NULL,
    user_id                  TEXT COLLATE "C" NOT NULL,
    source                   TEXT COLLATE "C" NOT NULL,
    event_name               TEXT COLLATE "C" NOT NULL,
    kind                     TEXT COLLATE "C" NOT NULL,
    thread_id                TEXT COLLATE "C",
    ts_ms                    BIGINT NOT NULL,
    client_id                TEXT COLLATE "C" NOT NULL,
    model                    TEXT COLLATE "C",
    input_tokens             BIGINT,
    cached_input_tokens      BIGINT,
    output_tokens            BIGINT,
    reasoning_output_tokens  BIGINT,
    total_tokens             BIGINT,
    credits_micro            BIGINT NOT NULL DEFAULT 0,
    usd_micro                BIGINT NOT NULL DEFAULT 0,
    rate_card_version        TEXT COLLATE "C" NOT NULL DEFAULT '',
    received_at_ms           BIGINT NOT NULL,
    raw                      TEXT COLLATE "C" NOT NULL
);

-- Dedup keys of stored events: 16 bytes of SHA-256(workspace_id, dedup_key). Kept apart from
-- `events` so the index that every insert updates at a random position stays small.
-- Keyed time first: new keys land at the end of the index instead of at random positions
-- (a duplicate has the same time, since the hash covers the whole record).
CREATE TABLE event_keys (
    ts_ms  BIGINT NOT NULL,
    key    BYTEA NOT NULL,
    PRIMARY KEY (ts_ms, key)
);

-- Daily usage rollup, updated in the same transaction as the events it sums. Rows with
-- user_id = '' are the workspace totals (maintained alongside, so workspace queries read few rows).
CREATE TABLE usage_daily (
    workspace_id             TEXT COLLATE "C" NOT NULL,
    day                      BIGINT NOT NULL,
    week                     BIGINT NOT NULL,
    user_id                  TEXT COLLATE "C" NOT NULL,
    client_id                TEXT COLLATE "C" NOT NULL,
    model                    TEXT COLLATE "C" NOT NULL,
    rate_card_version        TEXT COLLATE "C" NOT NULL,
    turns                    BIGINT NOT NULL DEFAULT 0,
    input_tokens             BIGINT NOT NULL DEFAULT 0,
    cached_input_tokens      BIGINT NOT NULL DEFAULT 0,
    output_tokens            BIGINT NOT NULL DEFAULT 0,
    reasoning_output_tokens  BIGINT NOT NULL DEFAULT 0,
    credits_micro            BIGINT NOT NULL DEFAULT 0,
    usd_micro                BIGINT NOT NULL DEFAULT 0,
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
    workspace_id  TEXT COLLATE "C" NOT NULL,
    grain         TEXT COLLATE "C" NOT NULL,
    bucket        BIGINT NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    client_id     TEXT COLLATE "C" NOT NULL,
    thread_id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, grain, bucket, user_id, client_id, thread_id)
);

CREATE TABLE thread_counts (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    grain         TEXT COLLATE "C" NOT NULL,
    bucket        BIGINT NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    client_id     TEXT COLLATE "C" NOT NULL,
    threads       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, grain, bucket, user_id, client_id)
);
