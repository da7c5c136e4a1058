-- Sightings (steward_store::sightings): every source's report of a turn or a model response,
-- kept even when the fact was a duplicate, for the coverage report and for pairing an OTLP
-- prompt that has no turn id with another source's report of the same turn. own_key is the
-- report's own event key (a re-send, same time and key, is the same sighting); fact_key the fact
-- it counted under. Keyed by time first: new rows land at the end of the key (few pages written
-- per commit, as with event_keys), and the coverage report reads a workspace's days from it.
-- Keep in step with store-sqlite/migrations/0013_fact_sightings.sql.
CREATE TABLE fact_sightings (
    workspace_id             TEXT NOT NULL,
    source                   TEXT NOT NULL,
    own_key                  TEXT NOT NULL,
    fact_key                 TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    thread_id                TEXT NOT NULL,
    user_id                  TEXT NOT NULL,
    ts_ms                    BIGINT NOT NULL,
    turn_id                  TEXT NULL,
    input_tokens             BIGINT NOT NULL,
    cached_input_tokens      BIGINT NOT NULL,
    output_tokens            BIGINT NOT NULL,
    reasoning_output_tokens  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, ts_ms, source, own_key)
);
-- Pairing reads a thread's turns near a time, and whether a fact has a source's report.
CREATE INDEX fact_sightings_turns ON fact_sightings (workspace_id, thread_id, ts_ms) WHERE kind = 'turn';
CREATE INDEX fact_sightings_turn_facts ON fact_sightings (workspace_id, fact_key, source) WHERE kind = 'turn';
-- What was stored before this migration: each fact seen by the source that reported it first.
INSERT INTO fact_sightings
SELECT workspace_id, source, dedup_key, dedup_key,
       CASE kind WHEN 'user_prompt' THEN 'turn' ELSE 'response' END,
       thread_id, user_id, ts_ms, NULL,
       COALESCE(input_tokens, 0), COALESCE(cached_input_tokens, 0),
       COALESCE(output_tokens, 0), COALESCE(reasoning_output_tokens, 0)
FROM events
WHERE kind IN ('user_prompt', 'response_completed') AND thread_id IS NOT NULL AND source <> 'demo';
