-- thread_seen becomes (bucket, 16-byte key): the same facts in a fifth of the bytes, with inserts
-- local to the current bucket (see steward_store::rollup::thread_seen_key). Existing rows are
-- converted with that same function, registered on the connection as steward_thread_seen_key.
CREATE TABLE thread_seen_v2 (
    bucket  INTEGER NOT NULL,
    key     BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
INSERT OR IGNORE INTO thread_seen_v2 (bucket, key)
    SELECT bucket, steward_thread_seen_key(workspace_id, grain, user_id, client_id, thread_id) FROM thread_seen;
DROP TABLE thread_seen;
ALTER TABLE thread_seen_v2 RENAME TO thread_seen;
