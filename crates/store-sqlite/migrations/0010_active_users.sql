-- Active-user counters (steward_store::rollup::GRAIN_ACTIVE_USERS_DAY / _WEEK): distinct users
-- with usage per workspace, day or week, and client or all clients, kept by ingest from now on
-- like the thread counters, with the user id in the thread's place. Existing usage is counted
-- here once, from usage_daily (a user with a row in a bucket had usage in it).
-- Keep in step with store-postgres/migrations/0010_active_users.sql.
INSERT OR IGNORE INTO thread_seen (bucket, key)
SELECT day, steward_thread_seen_key(workspace_id, 'a', '', client_id, user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, day, client_id, user_id;
INSERT OR IGNORE INTO thread_seen (bucket, key)
SELECT day, steward_thread_seen_key(workspace_id, 'a', '', '', user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, day, user_id;
INSERT OR IGNORE INTO thread_seen (bucket, key)
SELECT week, steward_thread_seen_key(workspace_id, 'b', '', client_id, user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, week, client_id, user_id;
INSERT OR IGNORE INTO thread_seen (bucket, key)
SELECT week, steward_thread_seen_key(workspace_id, 'b', '', '', user_id)
FROM usage_daily WHERE user_id <> '' GROUP BY workspace_id, week, user_id;

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
