-- Failed password sign-ins per claimed username, for the brute-force throttle
-- (core::identity::throttle). Keyed by the name as typed (unknown names too, so a throttled
-- answer reveals nothing about which usernames exist); a row is forgotten once its last
-- failure is older than the throttle's memory, and a successful sign-in deletes it.
CREATE TABLE sign_in_failures (
    username         TEXT COLLATE "C" PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_ms  BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (last_failure_ms);
