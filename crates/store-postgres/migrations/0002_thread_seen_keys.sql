-- thread_seen becomes (bucket, 16-byte key): the same facts in a fifth of the bytes, with inserts
-- local to the current bucket. The key is steward_store::rollup::thread_seen_key, computed here
-- in SQL for the existing rows: SHA-256 over the NUL-separated parts, first 16 bytes.
CREATE TABLE thread_seen_v2 (
    bucket  BIGINT NOT NULL,
    key     BYTEA NOT NULL,
    PRIMARY KEY (bucket, key)
);
INSERT INTO thread_seen_v2 (bucket, key)
    SELECT bucket, substring(sha256(
        convert_to(workspace_id, 'UTF8') || '\x00'::bytea || convert_to(grain, 'UTF8') || '\x00'::bytea ||
        convert_to(user_id, 'UTF8') || '\x00'::bytea || convert_to(client_id, 'UTF8') || '\x00'::bytea ||
        convert_to(thread_id, 'UTF8')) from 1 for 16)
    FROM thread_seen
    ON CONFLICT DO NOTHING;
DROP TABLE thread_seen;
ALTER TABLE thread_seen_v2 RENAME TO thread_seen;
ALTER INDEX thread_seen_v2_pkey RENAME TO thread_seen_pkey;
