-- Active-user counters (steward_store::rollup::GRAIN_ACTIVE_USERS_DAY / _WEEK): distinct users
-- with usage per workspace, day or week, and client or all clients, kept by ingest from now on
-- like the thread counters, with the user id in the thread's place. Existing usage is counted
-- here once, from usage_daily. The key is steward_store::rollup::thread_seen_key (SHA-256 over
-- the NUL-separated workspace, grain, user '' , client and "thread" = user id; first 16 bytes).
-- Keep in step with store-sqlite/migrations/0010_active_users.sql.
INSERT INTO thread_seen (bucket, key)
SELECT DISTINCT day, substring(sha256(convert_to(workspace_id, 'UTF8') || '\x00'::bytea || convert_to('a', 'UTF8') || '\x00'::bytea ||
        '\x00'::bytea || convert_to(client_id, 'UTF8') || '\x00'::bytea || convert_to(user_id, 'UTF8')) from 1 for 16)
FROM usage_daily WHERE user_id <> ''
ON CONFLICT DO NOTHING;
INSERT INTO thread_seen (bucket, key)
SELECT DISTINCT day, substring(sha256(convert_to(workspace_id, 'UTF8') || '\x00'::bytea || convert_to('a', 'UTF8') || '\x00'::bytea ||
        '\x00'::bytea || convert_to('', 'UTF8') || '\x00'::bytea || convert_to(user_id, 'UTF8')) from 1 for 16)
FROM usage_daily WHERE user_id <> ''
ON CONFLICT DO NOTHING;
INSERT INTO thread_seen (bucket, key)
SELECT DISTINCT week, substring(sha256(convert_to(workspace_id, 'UTF8') || '\x00'::bytea || convert_to('b', 'UTF8') || '\x00'::bytea ||
        '\x00'::bytea || convert_to(client_id, 'UTF8') || '\x00'::bytea || convert_to(user_id, 'UTF8')) from 1 for 16)
FROM usage_daily WHERE user_id <> ''
ON CONFLICT DO NOTHING;
INSERT INTO thread_seen (bucket, key)
SELECT DISTINCT week, substring(sha256(convert_to(workspace_id, 'UTF8') || '\x00'::bytea || convert_to('b', 'UTF8') || '\x00'::bytea ||
        '\x00'::bytea || convert_to('', 'UTF8') || '\x00'::bytea || convert_to(user_id, 'UTF8')) from 1 for 16)
FROM usage_daily WHERE user_id <> ''
ON CONFLICT DO NOTHING;
INSERT INTO thread_counts (workspace_id, grain, bucket, user_id, client_id, threads)
SELECT workspace_id, 'a', day, '', client_id, COUNT(DISTINCT user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, day, client_id;
INSERT INTO thread_counts (workspace_id, grain, bucket, user_id, client_id, threads)
SELECT workspace_id, 'a', day, '', '', COUNT(DISTINCT user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, day;
INSERT INTO thread_counts (workspace_id, grain, bucket, user_id, client_id, threads)
SELECT workspace_id, 'b', week, '', client_id, COUNT(DISTINCT user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, week, client_id;
INSERT INTO thread_counts (workspace_id, grain, bucket, user_id, client_id, threads)
SELECT workspace_id, 'b', week, '', '', COUNT(DISTINCT user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, week;
