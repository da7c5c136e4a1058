-- When a record was queued, by the server's clock: sealing schedules by arrival, not by the
-- event's own time (a client whose clock runs ahead must not delay its records' sealing).
-- Rows queued before this migration count as queued at 0, i.e. due at once.
ALTER TABLE compliance_pending ADD COLUMN queued_at_ms INTEGER NOT NULL DEFAULT 0;
