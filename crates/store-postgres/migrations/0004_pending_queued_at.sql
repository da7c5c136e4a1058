-- When a record was queued, by the database server's clock (one clock for all replicas):
-- sealing schedules by arrival, not by the event's own time (a client whose clock runs ahead
-- must not delay its records' sealing).
ALTER TABLE compliance_pending
    ADD COLUMN queued_at_ms BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
