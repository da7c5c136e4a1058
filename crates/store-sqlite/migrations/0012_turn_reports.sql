-- The turn ledger (steward_store::ledger): turns reported whole by Codex's analytics events,
-- with what each contributes to usage_daily while it is counted (counted = 1), so that it can be
-- taken back exactly when OTLP logs or a shipped rollout report the same turn.
-- Keep in step with store-postgres/migrations/0012_turn_reports.sql.
CREATE TABLE turn_reports (
    workspace_id             TEXT NOT NULL,
    turn_key                 TEXT NOT NULL,
    thread_id                TEXT NOT NULL,
    started_ms               INTEGER NOT NULL,
    ended_ms                 INTEGER NOT NULL,
    user_id                  TEXT NOT NULL,
    client_id                TEXT NOT NULL,
    model                    TEXT NOT NULL,
    rate_card_version        TEXT NOT NULL,
    input_tokens             INTEGER NOT NULL,
    cached_input_tokens      INTEGER NOT NULL,
    output_tokens            INTEGER NOT NULL,
    reasoning_output_tokens  INTEGER NOT NULL,
    credits_micro            INTEGER NOT NULL,
    usd_micro                INTEGER NOT NULL,
    counted                  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, turn_key)
) WITHOUT ROWID;
CREATE INDEX turn_reports_by_thread ON turn_reports (workspace_id, thread_id, started_ms);
-- "Did another source report this thread between these times?": turns and responses only,
-- which keeps the index to a fraction of the events.
CREATE INDEX events_turn_facts ON events (workspace_id, thread_id, ts_ms)
    WHERE kind IN ('user_prompt', 'response_completed');
