-- Users are looked up by email case-insensitively (`lower(email) = lower(?)`): the policy
-- lookup, the agent's and Codex's config-bundle requests. Without this index every lookup
-- scanned the workspace's users (8.7 ms of a 9.3 ms lookup with 100k users on SQLite).
CREATE INDEX IF NOT EXISTS users_by_lower_email ON users (workspace_id, lower(email));
