-- Codex threads, served as the Compliance API's Codex tasks, and the places they ran (host and
-- working directory), served as Codex environments. Maintained at ingest: one upsert per thread
-- per batch of events, in the batch's transaction; the working directory comes from traces.
-- Keep in step with store-sqlite/migrations/0006_codex_threads.sql.

-- A row may start from traces (cwd only) before any log event of the thread is stored; such a
-- row has created_ms NULL and is not a task yet.
CREATE TABLE codex_threads (
    workspace_id             TEXT COLLATE "C" NOT NULL,
    thread_id                TEXT COLLATE "C" NOT NULL,
    user_id                  TEXT COLLATE "C",
    client_id                TEXT COLLATE "C",
    model                    TEXT COLLATE "C",
    model_ms                 BIGINT,
    created_ms               BIGINT,
    updated_ms               BIGINT,
    turns                    BIGINT NOT NULL DEFAULT 0,
    input_tokens             BIGINT NOT NULL DEFAULT 0,
    cached_input_tokens      BIGINT NOT NULL DEFAULT 0,
    output_tokens            BIGINT NOT NULL DEFAULT 0,
    reasoning_output_tokens  BIGINT NOT NULL DEFAULT 0,
    host_name                TEXT COLLATE "C",
    cwd                      TEXT COLLATE "C",
    environment_id           TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, thread_id)
);
-- The tasks listing: newest updated_ms first, keyset-paginated.
CREATE INDEX codex_threads_by_updated ON codex_threads (workspace_id, updated_ms, thread_id);

-- id = steward_store::environment_id(workspace_id, host_name, cwd). task_count is kept by the
-- writers (+1 when a thread arrives, -1 when it moves to another environment).
CREATE TABLE codex_environments (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    host_name     TEXT COLLATE "C" NOT NULL,
    cwd           TEXT COLLATE "C",
    created_ms    BIGINT NOT NULL,
    creator_id    TEXT COLLATE "C",
    task_count    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX codex_environments_by_created ON codex_environments (workspace_id, created_ms, id);

-- run_sampling_request spans: trace id -> working directory of that turn (joined to a thread
-- through turn_spans, which may arrive in another request).
CREATE TABLE trace_cwds (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    trace_id      TEXT COLLATE "C" NOT NULL,
    cwd           TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, trace_id)
);

-- Threads already stored. Working directories were not stored before, so backfilled
-- environments are "host, directory unknown". host.name is read as the ingest normaliser
-- reads it (log attribute, else resource), from the events every Codex process logs (prompts
-- and conversation starts); a raw record that is not JSON has none.
CREATE FUNCTION pg_temp.steward_host_name(raw TEXT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    j JSONB;
BEGIN
    j := raw::jsonb;
    RETURN NULLIF(btrim(COALESCE(j -> 'attributes' ->> 'host.name', j -> 'resource' ->> 'host.name')), '');
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

INSERT INTO codex_threads (workspace_id, thread_id, user_id, client_id, model, model_ms, created_ms,
    updated_ms, turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, host_name)
SELECT workspace_id, thread_id,
    (array_agg(user_id ORDER BY ts_ms, id))[1],
    (array_agg(client_id ORDER BY ts_ms, id))[1],
    (array_agg(model ORDER BY ts_ms DESC, id DESC) FILTER (WHERE model IS NOT NULL))[1],
    MAX(ts_ms) FILTER (WHERE model IS NOT NULL),
    MIN(ts_ms),
    MAX(ts_ms),
    COUNT(*) FILTER (WHERE kind = 'user_prompt'),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(cached_input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(reasoning_output_tokens), 0),
    NULL
FROM events WHERE thread_id IS NOT NULL
GROUP BY workspace_id, thread_id;

UPDATE codex_threads t SET host_name = h.host_name
FROM (SELECT DISTINCT ON (workspace_id, thread_id) workspace_id, thread_id, host_name
      FROM (SELECT workspace_id, thread_id, ts_ms, id, pg_temp.steward_host_name(raw) AS host_name
            FROM events
            WHERE thread_id IS NOT NULL AND kind IN ('user_prompt', 'conversation_start')) AS e
      WHERE host_name IS NOT NULL
      ORDER BY workspace_id, thread_id, ts_ms, id) AS h
WHERE h.workspace_id = t.workspace_id AND h.thread_id = t.thread_id;

DROP FUNCTION pg_temp.steward_host_name(TEXT);

UPDATE codex_threads SET environment_id = 'env_' || substr(encode(sha256(
        convert_to(workspace_id, 'UTF8') || decode('00', 'hex') || convert_to(host_name, 'UTF8')
        || decode('00', 'hex')), 'hex'), 1, 24)
WHERE host_name IS NOT NULL;

INSERT INTO codex_environments (workspace_id, id, host_name, cwd, created_ms, creator_id, task_count)
SELECT workspace_id, environment_id, MIN(host_name), NULL, MIN(created_ms),
    (array_agg(user_id ORDER BY created_ms, thread_id))[1], COUNT(*)
FROM codex_threads WHERE environment_id IS NOT NULL
GROUP BY workspace_id, environment_id;
