-- Codex threads, served as the Compliance API's Codex tasks, and the places they ran (host and
-- working directory), served as Codex environments. Maintained at ingest: one upsert per thread
-- per batch of events, in the batch's transaction; the working directory comes from traces.
-- Keep in step with store-postgres/migrations/0006_codex_threads.sql.

-- A row may start from traces (cwd only) before any log event of the thread is stored; such a
-- row has created_ms NULL and is not a task yet.
CREATE TABLE codex_threads (
    workspace_id             TEXT NOT NULL,
    thread_id                TEXT NOT NULL,
    user_id                  TEXT,
    client_id                TEXT,
    model                    TEXT,
    model_ms                 INTEGER,
    created_ms               INTEGER,
    updated_ms               INTEGER,
    turns                    INTEGER NOT NULL DEFAULT 0,
    input_tokens             INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens            INTEGER NOT NULL DEFAULT 0,
    reasoning_output_tokens  INTEGER NOT NULL DEFAULT 0,
    host_name                TEXT,
    cwd                      TEXT,
    environment_id           TEXT,
    PRIMARY KEY (workspace_id, thread_id)
) WITHOUT ROWID;
-- The tasks listing: newest updated_ms first, keyset-paginated.
CREATE INDEX codex_threads_by_updated ON codex_threads (workspace_id, updated_ms, thread_id);

-- id = steward_store::environment_id(workspace_id, host_name, cwd). task_count is kept by the
-- writers (+1 when a thread arrives, -1 when it moves to another environment).
CREATE TABLE codex_environments (
    workspace_id  TEXT NOT NULL,
    id            TEXT NOT NULL,
    host_name     TEXT NOT NULL,
    cwd           TEXT,
    created_ms    INTEGER NOT NULL,
    creator_id    TEXT,
    task_count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX codex_environments_by_created ON codex_environments (workspace_id, created_ms, id);

-- run_sampling_request spans: trace id -> working directory of that turn (joined to a thread
-- through turn_spans, which may arrive in another request).
CREATE TABLE trace_cwds (
    workspace_id  TEXT NOT NULL,
    trace_id      TEXT NOT NULL,
    cwd           TEXT NOT NULL,
    PRIMARY KEY (workspace_id, trace_id)
) WITHOUT ROWID;

-- Threads already stored. (SQLite takes the bare columns of a MIN()/MAX() aggregate from the
-- row holding that minimum or maximum.) Working directories were not stored before, so
-- backfilled environments are "host, directory unknown".
INSERT INTO codex_threads (workspace_id, thread_id, user_id, client_id, created_ms)
SELECT workspace_id, thread_id, user_id, client_id, MIN(ts_ms)
FROM events WHERE thread_id IS NOT NULL
GROUP BY workspace_id, thread_id;

UPDATE codex_threads SET updated_ms = a.updated_ms, turns = a.turns, input_tokens = a.input_tokens,
    cached_input_tokens = a.cached_input_tokens, output_tokens = a.output_tokens,
    reasoning_output_tokens = a.reasoning_output_tokens
FROM (SELECT workspace_id, thread_id, MAX(ts_ms) AS updated_ms, SUM(kind = 'user_prompt') AS turns,
        COALESCE(SUM(input_tokens), 0) AS input_tokens,
        COALESCE(SUM(cached_input_tokens), 0) AS cached_input_tokens,
        COALESCE(SUM(output_tokens), 0) AS output_tokens,
        COALESCE(SUM(reasoning_output_tokens), 0) AS reasoning_output_tokens
      FROM events WHERE thread_id IS NOT NULL GROUP BY workspace_id, thread_id) AS a
WHERE a.workspace_id = codex_threads.workspace_id AND a.thread_id = codex_threads.thread_id;

UPDATE codex_threads SET model = m.model, model_ms = m.model_ms
FROM (SELECT workspace_id, thread_id, model, MAX(ts_ms) AS model_ms
      FROM events WHERE thread_id IS NOT NULL AND model IS NOT NULL
      GROUP BY workspace_id, thread_id) AS m
WHERE m.workspace_id = codex_threads.workspace_id AND m.thread_id = codex_threads.thread_id;

-- host.name as the ingest normaliser reads it (log attribute, else resource), from the events
-- that every Codex process logs (prompts and conversation starts).
UPDATE codex_threads SET host_name = h.host_name
FROM (SELECT workspace_id, thread_id, host_name, MIN(ts_ms)
      FROM (SELECT workspace_id, thread_id, ts_ms,
                NULLIF(TRIM(COALESCE(json_extract(raw, '$.attributes."host.name"'),
                                     json_extract(raw, '$.resource."host.name"'))), '') AS host_name
            FROM events
            WHERE thread_id IS NOT NULL AND kind IN ('user_prompt', 'conversation_start') AND json_valid(raw))
      WHERE host_name IS NOT NULL
      GROUP BY workspace_id, thread_id) AS h
WHERE h.workspace_id = codex_threads.workspace_id AND h.thread_id = codex_threads.thread_id;

UPDATE codex_threads SET environment_id = steward_environment_id(workspace_id, host_name, NULL)
WHERE host_name IS NOT NULL;

INSERT INTO codex_environments (workspace_id, id, host_name, cwd, created_ms, creator_id, task_count)
SELECT workspace_id, environment_id, host_name, NULL, MIN(created_ms), user_id, COUNT(*)
FROM codex_threads WHERE environment_id IS NOT NULL
GROUP BY workspace_id, environment_id;
